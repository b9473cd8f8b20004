import { type Job, type StandaloneTask, StepKind } from '../../schemas/job.ts';
import { type JobState, type StoredJob, taskByStage } from '../job-object/state.ts';

/** Whether a job's kind is a standalone probe, import or export, which is shown only as its task. */
function isStepKind(kind: StoredJob['kind']): kind is StepKind {
  return StepKind.safeParse(kind).success;
}

/** The job as GET /jobs shows it, or null for the job behind a probe, import or export task. */
export function publicJob(job: StoredJob): Job | null {
  const { kind } = job;
  if (isStepKind(kind)) return null;
  return { ...job, kind };
}

/**
 * The standalone task a job runs (POST /tasks), as GET /tasks/{id} and its webhook show it: the
 * job's status, progress and output under the task's id, kind, input and options. Encode tasks
 * stored before tasks kept their own view are the job's encode task with the job's input.
 */
export function standaloneTask(state: JobState): StandaloneTask {
  const { job } = state;
  const own = state.standalone ?? {
    task_id: taskByStage(job, 'encode').id,
    kind: job.kind,
    input: job.input,
    options: job.options,
  };
  return {
    id: own.task_id,
    object: 'task',
    kind: own.kind,
    status: job.status === 'queued' ? 'waiting' : job.status,
    progress: job.progress,
    input: own.input,
    options: own.options ?? job.options,
    output: job.output,
    error: job.error,
    metadata: job.metadata,
    webhook_url: job.webhook_url,
    job_id: isStepKind(job.kind) ? null : job.id,
    created_at: job.created_at,
    started_at: job.started_at,
    finished_at: job.finished_at,
    updated_at: job.updated_at,
  };
}
