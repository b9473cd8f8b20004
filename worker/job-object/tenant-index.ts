import { tenantStub } from '../stubs.ts';
import type { JobSummary } from '../tenant-object/index.ts';
import type { StoredJob } from './state.ts';

/** The job's row in its tenant's index, which GET /jobs and GET /tasks list and filter. */
export function jobSummary(job: StoredJob): JobSummary {
  return { id: job.id, kind: job.kind, status: job.status, input: job.input, metadata: job.metadata, created_at: job.created_at };
}

/**
 * Writes the job's summary to its tenant's index. Returns false when the write failed (logged),
 * so the JobObject can mark its index stale and retry it from its alarm rather than fail the
 * transition that caused the write.
 */
export async function writeTenantIndex(env: Env, tenant: string, job: StoredJob): Promise<boolean> {
  try {
    await tenantStub(env, tenant).indexJob(jobSummary(job));
    return true;
  } catch (err) {
    console.error('tenant index write failed; the alarm retries it', job.id, err);
    return false;
  }
}
