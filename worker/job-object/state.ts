import type { ErrorBody } from '../../schemas/errors.ts';
import type { FileObject } from '../../schemas/file.ts';
import {
  type ExternalFile,
  isTerminal,
  type Job,
  type JobCreate,
  type StandaloneTask,
  type StepCreate,
  type StepKind,
  type Task,
  type TaskKind,
  type TerminalStatus,
} from '../../schemas/job.ts';
import { RUN_ORDER, TaskStage } from '../../schemas/processor.ts';
import {
  CREATE_RETRY_MS,
  GIVEN_BACK_RESEND_MS,
  INDEX_RETRY_MAX_MS,
  MAX_RUN_ATTEMPTS,
  MAX_RUNS_GIVEN_BACK,
  MAX_UNREACHABLE_DISPATCHES,
  QUEUE_STALL_MS,
  SLOT_WAIT_RESEND_GRACE_MS,
} from '../constants.ts';

/**
 * The job state machine: every transition of a job, as plain functions over plain data. The
 * JobObject loads the state, applies one of these, saves it and carries out the returned
 * {@link Change}; terminal states never change again.
 */

/** An object in a bucket: Kiln's own (keys chosen by Kiln, never from user-supplied names) or a tenant's S3 connection. */
export type BucketObject = { type: 'kiln'; key: string } | { type: 's3'; connection_id: string; bucket: string; key: string };

/** Where a job reads from, resolved at submit time so dispatch never re-interprets user input. */
export type InputSource = { type: 'url'; url: string } | BucketObject;

/**
 * Where a job writes to: one file, or a folder of files (an HLS ladder) whose location's key is
 * the prefix the files' names are appended to.
 */
export type OutputTarget =
  | { type: 'file'; location: BucketObject }
  /** `main`: the master playlist's name when the job's output named one (`s3://…/stream.m3u8`). */
  | { type: 'folder'; location: BucketObject; main?: string }
  | { type: 'none' };

/**
 * A job as stored: a public job, or the job behind a standalone probe, import or export task
 * (POST /tasks), which has that step's kind and is only ever shown as its task.
 */
export type StoredJob = Omit<Job, 'kind'> & { kind: Job['kind'] | StepKind };

/** What a job's request is: a job's (POST /jobs, an encode task) or a standalone step's, which takes no options. */
export type JobRequest = JobCreate | StepCreate;

/** What a standalone task (POST /tasks) shows of itself, kept on the job that runs it. */
export interface Standalone {
  task_id: string;
  kind: TaskKind;
  /** The input as the caller sent it (see StandaloneTask). */
  input: StandaloneTask['input'];
  /** A step's options as sent; an encode task shows its job's options. */
  options?: Record<string, unknown>;
}

/** Everything the JobObject keeps about one job: the public job plus dispatch bookkeeping. */
export interface JobState {
  job: StoredJob;
  /** Set when the job runs a standalone task; absent for jobs, and for tasks stored before it existed (encode tasks). */
  standalone?: Standalone;
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
  /** Runs a stopping processor gave back (bounded by MAX_RUNS_GIVEN_BACK); absent in jobs stored before it existed. */
  givenBackRuns?: number;
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
  request: JobRequest;
  options: Record<string, unknown>;
  standalone?: Standalone;
  source: InputSource;
  target: OutputTarget;
  taskIds: string[];
  now: number;
}

/** One entry of the job's event log (GET /jobs/{id}/events). */
export interface LogEntry {
  type: string;
  detail: unknown;
}

/** What a transition asks of its host besides saving the state. */
export interface Change {
  log: LogEntry;
  /** Send the queue message of the job's current seq. */
  enqueue?: boolean;
  /** A job that ends without its webhook: no one was told it exists (see JobObject.discard). */
  quiet?: boolean;
}

type ClaimSkip = { action: 'skip'; reason: 'terminal' | 'stale' | 'duplicate' | 'missing' };

/** The queue consumer's answer from the JobObject: start the run with this attempt number, or ack the message. */
export type ClaimResult = { action: 'dispatch'; attempt: number; state: JobState } | ClaimSkip;

/** The callback's answer to a processor event: whether it was applied, and whether the run must stop. */
export interface EventAnswer {
  accepted: boolean;
  cancelled: boolean;
}

/** Share of overall progress each stage covers, counted in RUN_ORDER (docs/api.md#the-job-object); sums to 100. */
const STAGE_WEIGHT: Record<TaskStage, number> = { probe: 5, import: 15, encode: 75, export: 5 };

/** The input as a probe or import task shows it: the URL as the user gave it. */
function externalFile(url: string): ExternalFile {
  return { object: 'external_file', url };
}

/** The options each step shows: the encode has the job's, export its s3:// destination, the others none. */
function stageOptions(stage: TaskStage, options: Record<string, unknown>, target: OutputTarget): Record<string, unknown> {
  if (stage === 'encode') return options;
  if (stage === 'export' && target.type !== 'none' && target.location.type === 's3') {
    const { bucket, key, connection_id } = target.location;
    // A folder output named its master playlist (s3://…/stream.m3u8): show the URL as it was sent.
    const main = target.type === 'folder' && target.main ? target.main : '';
    return { url: `s3://${bucket}/${key}${main}`, connection_id };
  }
  return {};
}

/**
 * A job's tasks, one per stage in TaskStage order (docs/api.md#the-job-object); the encode task
 * has the job's kind. Probe and import read the input as given; the encode's input is the File
 * the probe finds, the export's the encoded File.
 */
export function createJob(n: NewJob): { state: JobState; change: Change } {
  const tasks: Task[] = TaskStage.options.map((stage, i) => ({
    id: n.taskIds[i] ?? `task_${i}`,
    object: 'task',
    kind: stage === 'encode' ? n.request.kind : stage,
    status: 'waiting',
    progress: 0,
    input: stage === 'probe' || stage === 'import' ? externalFile(n.request.input) : null,
    options: stageOptions(stage, n.options, n.target),
    output: null,
    error: null,
    created_at: n.now,
    started_at: null,
    finished_at: null,
    updated_at: n.now,
  }));
  const state: JobState = {
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
    ...(n.standalone ? { standalone: n.standalone } : {}),
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
  return { state, change: { log: { type: 'created', detail: null } } };
}

/**
 * A state as stored, in today's shape. Jobs stored before folder outputs had their own variant
 * kept a bare bucket object whose key ended in `/` for a folder; tasks stored before tasks showed
 * their options had none.
 */
export function upgradeStored(state: JobState): JobState {
  const target = state.target as OutputTarget | BucketObject;
  if (target.type === 'kiln' || target.type === 's3') {
    state.target = { type: target.key.endsWith('/') ? 'folder' : 'file', location: target };
  }
  for (const [i, task] of state.job.tasks.entries()) {
    task.options ??= stageOptions(TaskStage.options[i] ?? 'encode', state.job.options, state.target);
  }
  return state;
}

/** Where the task listed at `i` comes in a run (RUN_ORDER): the import runs before the probe. */
function runRank(i: number): number {
  const stage = TaskStage.options[i];
  if (!stage) throw new Error(`no task stage at ${i}`);
  return RUN_ORDER.indexOf(stage);
}

/** The job's task for `stage`; a job without one is a broken invariant. */
export function taskByStage(job: StoredJob, stage: TaskStage): Task {
  const task = job.tasks[TaskStage.options.indexOf(stage)];
  if (!task) throw new Error(`job ${job.id} has no task for stage ${stage}`);
  return task;
}

/**
 * The send of the new job's queue message failed: the stalled-queue watchdog re-sends it once
 * CREATE_RETRY_MS have passed instead of QUEUE_STALL_MS. A message that arrived meanwhile and
 * claimed the job needs nothing.
 */
export function resendSoon(state: JobState, now: number): void {
  if (state.claimedSeq === null) state.enqueuedAt = now - QUEUE_STALL_MS + CREATE_RETRY_MS;
}

/** Why a message of generation `seq` must not start a run, or null when it may. */
function claimSkip(state: JobState, seq: number): ClaimSkip | null {
  if (isTerminal(state.job.status)) return { action: 'skip', reason: 'terminal' };
  if (seq !== state.seq) return { action: 'skip', reason: 'stale' };
  if (state.claimedSeq === seq) return { action: 'skip', reason: 'duplicate' };
  return null;
}

/**
 * The message of generation `seq` found every run slot of its tenant taken
 * (TENANT_MAX_CONCURRENT_JOBS): the job stays queued, and a message of a new generation, `seq` in
 * the answer, comes back for it `delayS` later. From then on that message alone speaks for the
 * job: a batch message (POST /jobs/batch) retried for a sibling skips it as stale, and
 * dead-lettering that message leaves it queued instead of failing it as if no processor could
 * take it. The stalled-queue watchdog waits for the new message until SLOT_WAIT_RESEND_GRACE_MS
 * after it is due, then sends one itself: a Worker that died before sending costs about a minute,
 * not QUEUE_STALL_MS. A message that could not start a run anyway is skipped.
 */
export function waitForSlot(state: JobState, seq: number, now: number, delayS: number): ClaimSkip | { action: 'wait'; seq: number } {
  const skip = claimSkip(state, seq);
  if (skip) return skip;
  state.seq += 1;
  state.enqueuedAt = now - QUEUE_STALL_MS + delayS * 1000 + SLOT_WAIT_RESEND_GRACE_MS;
  return { action: 'wait', seq: state.seq };
}

/**
 * A queue message of generation `seq` asks to start a run. Only the current generation starts
 * one, and only once, so a message delivered twice starts one encode.
 */
export function claimRun(state: JobState, seq: number, now: number): ClaimSkip | { action: 'dispatch'; change: Change } {
  const skip = claimSkip(state, seq);
  if (skip) return skip;
  state.claimedSeq = seq;
  state.attempt += 1;
  state.heartbeatAt = now;
  state.job.status = 'processing';
  state.job.started_at ??= now;
  state.job.updated_at = now;
  return { action: 'dispatch', change: { log: { type: 'run_started', detail: { attempt: state.attempt } } } };
}

/**
 * A dispatch straight from the job's creation (worker/dispatch/start.ts) asks to start the job's
 * run before its queue message arrives. It claims a new generation, so the message already sent
 * is stale when it arrives and starts nothing: one run, and no message left to start a second.
 * A job whose message already started its run, or that has finished, is skipped.
 */
export function claimNow(state: JobState, now: number): ClaimSkip | { action: 'dispatch'; change: Change } {
  if (isTerminal(state.job.status)) return { action: 'skip', reason: 'terminal' };
  if (state.claimedSeq !== null) return { action: 'skip', reason: 'duplicate' };
  state.seq += 1;
  return claimRun(state, state.seq, now);
}

/**
 * The processor was busy or could not be reached, or preparing the run hit a transient error: the
 * claim is given back so the retried message can start the run. A job that found no processor MAX_UNREACHABLE_DISPATCHES times in a row
 * fails instead, with the last error, so a container that cannot start is reported rather than
 * retried for ever. A release by an attempt that is no longer current changes nothing.
 */
export function releaseClaim(
  state: JobState,
  release: { attempt: number; outcome: 'busy' | 'unreachable' | 'error'; detail: string },
  now: number,
): { next: 'retry' | 'failed'; change: Change | null } {
  const { attempt, outcome, detail } = release;
  if (isTerminal(state.job.status) || state.attempt !== attempt) return { next: 'retry', change: null };
  if (outcome === 'unreachable') {
    state.unreachableDispatches = (state.unreachableDispatches ?? 0) + 1;
    if (state.unreachableDispatches >= MAX_UNREACHABLE_DISPATCHES) {
      const error: ErrorBody = {
        kind: 'processor_unavailable',
        message: `No processor could be reached in ${state.unreachableDispatches} attempts; the last error was: ${detail}. Check the processor's logs (for Containers: wrangler tail and the dashboard), then submit the job again.`,
      };
      return { next: 'failed', change: markFailed(state, error, null, now) };
    }
  }
  // The attempt number is not given back: a dispatch that timed out may still have started, and
  // its token must not be valid for the next run.
  state.claimedSeq = null;
  state.heartbeatAt = null;
  if (state.lostRuns === 0 && state.job.progress === 0) state.job.status = 'queued';
  // A processor that cannot be reached may be a dev stack stopping, whose local queue then forgets
  // the retried message: keep the earlier resend (a run given back asks for one within
  // GIVEN_BACK_RESEND_MS). A busy processor is alive, and its retry is the one to wait for.
  state.enqueuedAt = outcome === 'unreachable' ? Math.min(state.enqueuedAt, now) : now;
  return { next: 'retry', change: { log: { type: 'run_deferred', detail: { attempt, reason: `${outcome}: ${detail.slice(0, 200)}` } } } };
}

/** Whether `attempt` is the run the job is waiting for: not a late, superseded or cancelled one. */
export function isCurrentRun(state: JobState | null, attempt: number): state is JobState {
  return state !== null && !isTerminal(state.job.status) && state.attempt === attempt && state.claimedSeq !== null;
}

/**
 * The callback's answer to an event from a run that is not current. Duplicate and late events
 * after the job succeeded or failed are ignored; any other run is told to stop.
 */
export function refusal(state: JobState | null): EventAnswer {
  return { accepted: false, cancelled: state?.job.status !== 'succeeded' && state?.job.status !== 'failed' };
}

function completeTask(task: Task, now: number): void {
  task.status = 'succeeded';
  task.progress = 100;
  task.started_at ??= now;
  task.finished_at = now;
  task.updated_at = now;
}

/**
 * Records a progress event of the current run, which is also its heartbeat. Progress only moves
 * forward; earlier stages are closed as succeeded when a later one reports, so a lost event never
 * leaves a task open. The probe's result, the input as a File, arrives with a progress event once
 * it is known: it is what the probe and the import produced (the processor reads the input itself,
 * so the import keeps no copy of its own) and what the encode reads.
 */
export function recordProgress(state: JobState, progress: { stage: TaskStage; percent: number; input?: FileObject }, now: number): void {
  const { stage, percent, input } = progress;
  state.heartbeatAt = now;
  // A processor reached this run: only dispatches that find none in a row count towards failing.
  state.unreachableDispatches = 0;
  const index = RUN_ORDER.indexOf(stage);
  state.job.tasks.forEach((task, i) => {
    if (runRank(i) < index && task.status !== 'succeeded') completeTask(task, now);
  });
  const task = taskByStage(state.job, stage);
  if (task.status === 'waiting') {
    task.status = 'processing';
    task.started_at = now;
  }
  task.progress = Math.max(task.progress, Math.min(100, Math.round(percent)));
  task.updated_at = now;
  const before = RUN_ORDER.slice(0, index).reduce((sum, s) => sum + STAGE_WEIGHT[s], 0);
  const overall = Math.floor(before + (STAGE_WEIGHT[stage] * task.progress) / 100);
  state.job.progress = Math.max(state.job.progress, Math.min(99, overall));
  state.job.updated_at = now;
  if (input) {
    taskByStage(state.job, 'probe').output = input;
    taskByStage(state.job, 'import').output = input;
    taskByStage(state.job, 'encode').input = input;
  }
}

/** The run succeeded: every task is done and the output is the job's. `notes` go to the event log. */
export function markSucceeded(state: JobState, output: FileObject, notes: string[] | null, now: number): Change {
  for (const task of state.job.tasks) completeTask(task, now);
  taskByStage(state.job, 'encode').output = output;
  taskByStage(state.job, 'export').input = output;
  taskByStage(state.job, 'export').output = output;
  state.job.output = output;
  finish(state, 'succeeded', null, now);
  state.job.progress = 100;
  return { log: { type: 'succeeded', detail: notes } };
}

/**
 * Fails the job; the task at `stage` fails and the ones after it in the run (RUN_ORDER) are
 * cancelled (docs/api.md#the-job-object). With no stage, the first stage not done fails. `detail`
 * replaces the error in the event log.
 */
export function markFailed(state: JobState, error: ErrorBody, stage: TaskStage | null, now: number, detail: unknown = error): Change {
  // From outside a run (the watchdog, dispatch, the dead-letter queue): the first stage not done
  // (the export, last, is only ever done with the job).
  const failedStage = stage ?? RUN_ORDER.find((s) => taskByStage(state.job, s).status !== 'succeeded') ?? 'export';
  const failedRank = RUN_ORDER.indexOf(failedStage);
  for (const [i, task] of state.job.tasks.entries()) {
    // A stage that runs before the failed one finished, even if its last progress event was lost.
    if (runRank(i) < failedRank) {
      if (task.status !== 'succeeded') completeTask(task, now);
      continue;
    }
    // The failed stage and those after it, even if an earlier attempt had got through them.
    const failed = runRank(i) === failedRank;
    task.status = failed ? 'failed' : 'cancelled';
    task.error = failed ? error : null;
    task.finished_at = now;
    task.updated_at = now;
  }
  finish(state, 'failed', error, now);
  return { log: { type: 'failed', detail } };
}

/**
 * A failure no retry can fix, reported from outside a run (dispatch, the dead-letter queue). A
 * finished job, or a message of an older generation `seq`, changes nothing.
 */
export function failJob(state: JobState, error: ErrorBody, seq: number | undefined, now: number): Change | null {
  if (isTerminal(state.job.status) || (seq !== undefined && seq !== state.seq)) return null;
  return markFailed(state, error, null, now);
}

/** Cancels the job; a finished job stays as it is (null). */
export function cancelJob(state: JobState, now: number): Change | null {
  if (isTerminal(state.job.status)) return null;
  for (const task of state.job.tasks) {
    if (task.status === 'succeeded') continue;
    task.status = 'cancelled';
    task.finished_at = now;
    task.updated_at = now;
  }
  finish(state, 'cancelled', null, now);
  return { log: { type: 'cancelled', detail: null } };
}

function finish(state: JobState, status: TerminalStatus, error: ErrorBody | null, now: number) {
  state.job.status = status;
  state.job.error = error;
  state.job.finished_at = now;
  state.job.updated_at = now;
  state.claimedSeq = null;
  state.heartbeatAt = null;
}

/**
 * The watchdog's verdict at `now`: a queue message unclaimed for QUEUE_STALL_MS is sent again
 * (in case a send was lost); a run silent for `heartbeatTimeoutMs` is lost and the job goes back
 * to the queue under a new seq, so older messages are stale; the MAX_RUN_ATTEMPTS-th lost run
 * fails the job with `timeout`. Null when all is well.
 */
export function watchdog(state: JobState, now: number, heartbeatTimeoutMs: number): Change | null {
  if (isTerminal(state.job.status)) return null;
  if (state.claimedSeq === null) {
    if (now - state.enqueuedAt < QUEUE_STALL_MS) return null;
    state.enqueuedAt = now;
    return { log: { type: 'queue_resend', detail: { seq: state.seq } }, enqueue: true };
  }
  if (state.heartbeatAt !== null && now - state.heartbeatAt < heartbeatTimeoutMs) return null;
  const silentFor = Math.round((now - (state.heartbeatAt ?? now)) / 1000);
  state.lostRuns += 1;
  if (state.lostRuns >= MAX_RUN_ATTEMPTS) {
    const error: ErrorBody = {
      kind: 'timeout',
      message: `The processor stopped responding ${state.lostRuns} times (last silent for ${silentFor} s). Retry the job; if it keeps failing, the input may be too large for the configured limits.`,
    };
    return markFailed(state, error, null, now, { reason: 'watchdog', lost_runs: state.lostRuns });
  }
  const lost = state.attempt;
  state.seq += 1;
  state.claimedSeq = null;
  state.heartbeatAt = null;
  state.enqueuedAt = now;
  state.job.updated_at = now;
  return { log: { type: 'run_lost', detail: { attempt: lost, silent_s: silentFor } }, enqueue: true };
}

/**
 * The current run was given back by a processor that is stopping: the job goes back to the queue
 * at once under a new seq (older messages are stale), without waiting for the watchdog; the
 * MAX_RUNS_GIVEN_BACK-th give-back fails the job. Only the current run may give itself back,
 * which the caller checks ({@link isCurrentRun}).
 */
export function giveBack(state: JobState, run: { attempt: number; stage: TaskStage; reason: string }, now: number): Change {
  state.givenBackRuns = (state.givenBackRuns ?? 0) + 1;
  const detail = { attempt: run.attempt, stage: run.stage, reason: run.reason.slice(0, 200) };
  if (state.givenBackRuns >= MAX_RUNS_GIVEN_BACK) {
    const error: ErrorBody = {
      kind: 'processor_unavailable',
      message: `The processor was stopped during ${state.givenBackRuns} runs of this job (the last one said: ${detail.reason}); check the processor's deployments and logs, then submit the job again.`,
    };
    return markFailed(state, error, null, now, {
      reason: 'given_back',
      attempt: run.attempt,
      stage: run.stage,
      processor_said: detail.reason,
    });
  }
  state.seq += 1;
  state.claimedSeq = null;
  state.heartbeatAt = null;
  state.enqueuedAt = now - QUEUE_STALL_MS + GIVEN_BACK_RESEND_MS;
  state.job.updated_at = now;
  return { log: { type: 'run_given_back', detail }, enqueue: true };
}

/**
 * When the job next needs its alarm, or null: the watchdog's deadline while it is not finished,
 * and a retry of a tenant-index write that failed.
 */
export function nextCheckAt(state: JobState, now: number, heartbeatTimeoutMs: number): number | null {
  const deadlines: number[] = [];
  if (!isTerminal(state.job.status)) {
    deadlines.push(state.claimedSeq === null ? state.enqueuedAt + QUEUE_STALL_MS : (state.heartbeatAt ?? now) + heartbeatTimeoutMs);
  }
  if (state.indexStale) deadlines.push(now + Math.min(INDEX_RETRY_MAX_MS, Math.max(CREATE_RETRY_MS, now - state.job.updated_at)));
  return deadlines.length ? Math.min(...deadlines) : null;
}
