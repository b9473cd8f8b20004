import type { ErrorBody } from '../../schemas/errors.ts';
import type { JobBatchCreate, JobCreate } from '../../schemas/job.ts';
import type { QueueMessage } from '../dispatch/message.ts';
import { ValidationError } from '../http/errors.ts';
import type { JobState } from '../job-object/state.ts';
import { jobStub } from '../stubs.ts';
import { type PreparedJob, prepareJob, storeJob } from './create.ts';

/** The fields a batch shares; an issue about any other field belongs to one output. */
const SHARED_FIELDS = ['input', 'connection_id'];

/** An issue found while checking `outputs[index]`, named as the batch request spells the field. */
function atOutput(err: ValidationError, index: number): ValidationError {
  return new ValidationError(
    err.issues.map((issue) => {
      if (SHARED_FIELDS.includes(issue.path.split(/[.[]/)[0] ?? '')) return issue;
      const path = `outputs[${index}].${issue.path}`;
      return { path, message: issue.message.replaceAll(`for ${issue.path}`, `for ${path}`) };
    }),
  );
}

/** What a job of a batch that could not be stored whole says: none of the batch runs. */
const BATCH_NOT_STORED: ErrorBody = {
  kind: 'internal_error',
  message:
    'Kiln could not store every job of this POST /jobs/batch request, so none of them runs and the request answered 500. Send the batch again.',
};

/**
 * A multi-output request (POST /jobs/batch): checks every output before storing any, stores one
 * job per output, and queues them all in one message, so the queue consumer claims them together
 * and the processor runs them as one (one download, one decode). A batch stored only in part is
 * failed whole (BATCH_NOT_STORED) before the request fails. A message that cannot be sent
 * leaves each job to its own alarm, which queues it alone shortly: the jobs still run, just not
 * together.
 */
export async function submitBatch(opts: { env: Env; tenant: string; origin: string; body: JobBatchCreate }): Promise<JobState[]> {
  const { env, tenant, origin, body } = opts;
  const prepared: PreparedJob[] = [];
  for (const [index, output] of body.outputs.entries()) {
    const request: JobCreate = { input: body.input, connection_id: body.connection_id, ...output };
    try {
      prepared.push(await prepareJob({ env, tenant, origin, body: request }));
    } catch (err) {
      throw err instanceof ValidationError ? atOutput(err, index) : err;
    }
  }
  const stored = await Promise.allSettled(prepared.map((job) => storeJob({ env, tenant, origin, prepared: job, enqueue: false })));
  const refused = stored.find((r) => r.status === 'rejected');
  if (refused) {
    // The caller is answered 500 and will send the batch again: the jobs already stored (their
    // alarms would queue them) must not run as well, nor send webhooks about jobs it never saw. A
    // job whose store failed may exist anyway.
    const results = await Promise.allSettled(prepared.map((job) => jobStub(env, job.jobId).discard(BATCH_NOT_STORED)));
    if (results.some((r) => r.status === 'rejected')) console.error('a partly stored batch could not be failed whole', results);
    throw refused.reason;
  }
  const states = stored.map((r) => (r as PromiseFulfilledResult<JobState>).value);
  const [first, ...rest] = states as [JobState, ...JobState[]];
  const message: QueueMessage = {
    job_id: first.job.id,
    tenant,
    seq: first.seq,
    siblings: rest.map((s) => ({ job_id: s.job.id, seq: s.seq })),
  };
  try {
    await env.JOB_QUEUE.send(message);
  } catch (err) {
    console.error('batch created but not yet queued; each job is queued by its alarm', err);
    return Promise.all(states.map((s) => jobStub(env, s.job.id).resendSoon()));
  }
  return states;
}
