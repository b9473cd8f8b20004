import type { ErrorBody } from '../../schemas/errors.ts';
import type { FileObject } from '../../schemas/file.ts';
import type { Job, JobCreate, Task } from '../../schemas/job.ts';
import type { TaskStage } from '../../schemas/processor.ts';

/** Where a job reads from, resolved at submit time so dispatch never re-interprets user input. */
export type InputSource =
  | { type: 'url'; url: string }
  | { type: 'kiln'; key: string }
  | { type: 's3'; connection_id: string; bucket: string; key: string };

/** Where a job writes to; Kiln-owned keys are chosen by Kiln, never from user-supplied names. */
export type OutputTarget =
  | { type: 'kiln'; key: string }
  | { type: 's3'; connection_id: string; bucket: string; key: string };

/** Everything the JobObject keeps about one job: the public job plus dispatch bookkeeping. */
export interface JobState {
  job: Job;
  tenant: string;
  /** The Worker's own origin at submit time: callback and file URLs are built from it. */
  origin: string;
  source: InputSource;
  target: OutputTarget;
  /** Generation of the queue message that may start the next run; older messages are stale. */
  seq: number;
  /** The seq whose message claimed the current run, or null while waiting for the queue. */
  claimedSeq: number | null;
  /** Runs dispatched so far; each gets its own number and callback token, never reused. */
  attempt: number;
  /** Runs the watchdog found silent (bounded by MAX_RUN_ATTEMPTS). */
  lostRuns: number;
  /** Dispatches in a row that reached no processor (bounded by MAX_UNREACHABLE_DISPATCHES); absent in jobs stored before it existed. */
  unreachableDispatches?: number;
  /** The tenant index missed the latest status (a failed write); the alarm writes it again. */
  indexStale: boolean;
  /** Last sign of life from the processor for the current attempt. */
  heartbeatAt: number | null;
  /** When the job last entered the queue, for the stalled-queue watchdog. */
  enqueuedAt: number;
}

export interface NewJob {
  id: string;
  tenant: string;
  origin: string;
  request: JobCreate;
  options: Record<string, unknown>;
  source: InputSource;
  target: OutputTarget;
  taskIds: string[];
  now: number;
}

const STAGES: readonly TaskStage[] = ['probe', 'import', 'encode', 'export'];

/** Share of overall progress each stage covers, in task order (docs/api.md#the-job-object); sums to 100. */
const STAGE_WEIGHT: Record<TaskStage, number> = { probe: 5, import: 15, encode: 75, export: 5 };

export { isTerminal } from '../../schemas/job.ts';

export function createJobState(n: NewJob): JobState {
  const taskKinds: Task['kind'][] = ['probe', 'import', n.request.kind, 'export'];
  const tasks: Task[] = taskKinds.map((kind, i) => ({
    id: n.taskIds[i] ?? `task_${i}`,
    object: 'task',
    kind,
    status: 'waiting',
    progress: 0,
    input: null,
    output: null,
    error: null,
    created_at: n.now,
    started_at: null,
    finished_at: null,
    updated_at: n.now,
  }));
  return {
    job: {
      id: n.id,
      object: 'job',
      kind: n.request.kind,
      status: 'queued',
      input: n.request.input,
      options: n.options,
      output: null,
      metadata: n.request.metadata ?? {},
      webhook_url: n.request.webhook_url ?? null,
      error: null,
      progress: 0,
      tasks,
      created_at: n.now,
      started_at: null,
      finished_at: null,
      updated_at: n.now,
    },
    tenant: n.tenant,
    origin: n.origin,
    source: n.source,
    target: n.target,
    seq: 1,
    claimedSeq: null,
    attempt: 0,
    lostRuns: 0,
    unreachableDispatches: 0,
    indexStale: false,
    heartbeatAt: null,
    enqueuedAt: n.now,
  };
}

function completeTask(task: Task, now: number): void {
  task.status = 'succeeded';
  task.progress = 100;
  task.started_at ??= now;
  task.finished_at = now;
  task.updated_at = now;
}

function taskFor(state: JobState, stage: TaskStage): Task {
  const task = state.job.tasks[STAGES.indexOf(stage)];
  if (!task) throw new Error(`job ${state.job.id} has no task for stage ${stage}`);
  return task;
}

/**
 * Records stage progress. Progress only moves forward; earlier stages are closed as succeeded
 * when a later one reports, so a lost event never leaves a task open.
 */
export function recordProgress(state: JobState, stage: TaskStage, percent: number, now: number): void {
  const index = STAGES.indexOf(stage);
  state.job.tasks.forEach((task, i) => {
    if (i < index && task.status !== 'succeeded') completeTask(task, now);
  });
  const task = taskFor(state, stage);
  if (task.status === 'waiting') {
    task.status = 'processing';
    task.started_at = now;
  }
  task.progress = Math.max(task.progress, Math.min(100, Math.round(percent)));
  task.updated_at = now;
  const before = STAGES.slice(0, index).reduce((sum, s) => sum + STAGE_WEIGHT[s], 0);
  const overall = Math.floor(before + (STAGE_WEIGHT[stage] * task.progress) / 100);
  state.job.progress = Math.max(state.job.progress, Math.min(99, overall));
  state.job.updated_at = now;
}

export function markStarted(state: JobState, now: number): void {
  state.job.status = 'processing';
  state.job.started_at ??= now;
  state.job.updated_at = now;
}

export function markSucceeded(state: JobState, output: FileObject, input: unknown, now: number): void {
  for (const task of state.job.tasks) completeTask(task, now);
  taskFor(state, 'probe').output = input ?? null;
  taskFor(state, 'encode').output = output;
  taskFor(state, 'export').output = output;
  state.job.output = output;
  finish(state, 'succeeded', null, now);
  state.job.progress = 100;
}

/** Fails the job; the task at `stage` fails and the ones after it are cancelled (docs/api.md#the-job-object). */
export function markFailed(state: JobState, error: ErrorBody, stage: TaskStage | null, now: number): void {
  const failedAt = stage ? STAGES.indexOf(stage) : state.job.tasks.findIndex((t) => t.status !== 'succeeded');
  state.job.tasks.forEach((task, i) => {
    if (task.status === 'succeeded') return;
    // A later stage ran, so this one finished even if its last progress event was lost.
    if (i < failedAt) return completeTask(task, now);
    task.status = i === failedAt ? 'failed' : 'cancelled';
    task.error = i === failedAt ? error : null;
    task.finished_at = now;
    task.updated_at = now;
  });
  finish(state, 'failed', error, now);
}

export function markCancelled(state: JobState, now: number): void {
  for (const task of state.job.tasks) {
    if (task.status === 'succeeded') continue;
    task.status = 'cancelled';
    task.finished_at = now;
    task.updated_at = now;
  }
  finish(state, 'cancelled', null, now);
}

function finish(state: JobState, status: 'succeeded' | 'failed' | 'cancelled', error: ErrorBody | null, now: number) {
  state.job.status = status;
  state.job.error = error;
  state.job.finished_at = now;
  state.job.updated_at = now;
  state.claimedSeq = null;
  state.heartbeatAt = null;
}

/** Puts the job back in the queue for another run: a new seq makes older messages stale. */
export function requeue(state: JobState, now: number): void {
  state.seq += 1;
  state.claimedSeq = null;
  state.heartbeatAt = null;
  state.enqueuedAt = now;
  state.job.updated_at = now;
}
