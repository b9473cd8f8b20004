import { describe, expect, it } from 'vitest';
import type { FileObject } from '../../../schemas/file.ts';
import {
  CREATE_RETRY_MS,
  GIVEN_BACK_RESEND_MS,
  HEARTBEAT_TIMEOUT_MS,
  INDEX_RETRY_MAX_MS,
  MAX_RUN_ATTEMPTS,
  MAX_RUNS_GIVEN_BACK,
  MAX_UNREACHABLE_DISPATCHES,
  QUEUE_STALL_MS,
  SLOT_WAIT_BASE_S,
  SLOT_WAIT_MAX_S,
  SLOT_WAIT_RESEND_GRACE_MS,
} from '../../../worker/constants.ts';
import {
  cancelJob,
  claimNow,
  claimRun,
  createJob,
  failJob,
  giveBack,
  isCurrentRun,
  type JobState,
  markFailed,
  markSucceeded,
  type NewJob,
  nextCheckAt,
  recordProgress,
  refusal,
  releaseClaim,
  resendSoon,
  taskByStage,
  upgradeStored,
  waitForSlot,
  watchdog,
} from '../../../worker/job-object/state.ts';
import { OUTPUT_INFO } from '../helpers.ts';

const T0 = 1_700_000_000_000;

const NEW_JOB: NewJob = {
  id: 'job_0000000000000000000000test',
  tenant: 'dev',
  origin: 'https://kiln.example',
  request: { input: 'https://example.com/clip.mov', kind: 'video', webhook_url: 'https://hooks.example/kiln' },
  options: { width: 1920 },
  source: { type: 'url', url: 'https://example.com/clip.mov' },
  target: { type: 'file', location: { type: 'kiln', key: 'outputs/job_0000000000000000000000test/file_1.mp4' } },
  taskIds: ['task_p', 'task_i', 'task_e', 'task_x'],
  now: T0,
};

function queuedJob(): JobState {
  return createJob(structuredClone(NEW_JOB)).state;
}

/** A job whose current run (attempt 1) was started at `now`. */
function runningJob(now = T0): JobState {
  const state = queuedJob();
  claimRun(state, 1, now);
  return state;
}

const OUTPUT: FileObject = { object: 'file', id: 'file_1', url: 'https://kiln.example/files/outputs/x/file_1.mp4', ...OUTPUT_INFO };
const BROKEN = { kind: 'processing_failed', message: 'broken' } as const;

describe('a new job', () => {
  it('has one waiting task per stage, in stage order, the encode task of the job kind, and logs "created"', () => {
    const { state, change } = createJob(structuredClone(NEW_JOB));
    expect(state.job.tasks.map((t) => [t.id, t.kind, t.status])).toEqual([
      ['task_p', 'probe', 'waiting'],
      ['task_i', 'import', 'waiting'],
      ['task_e', 'video', 'waiting'],
      ['task_x', 'export', 'waiting'],
    ]);
    expect(state).toMatchObject({ seq: 1, claimedSeq: null, attempt: 0, enqueuedAt: T0, job: { status: 'queued', progress: 0 } });
    expect(change.log).toEqual({ type: 'created', detail: null });
  });

  it('finds its tasks by stage', () => {
    const { job } = queuedJob();
    expect(taskByStage(job, 'encode').id).toBe('task_e');
    expect(taskByStage(job, 'probe').id).toBe('task_p');
    expect(() => taskByStage({ ...job, tasks: [] }, 'export')).toThrow(/no task for stage export/);
  });
});

describe('stored states', () => {
  it('reads an output of a job stored before folder outputs had their own variant', () => {
    const legacy = (key: string) => ({ ...queuedJob(), target: { type: 'kiln', key } }) as unknown as JobState;
    expect(upgradeStored(legacy('outputs/job_1/file_1/')).target).toEqual({
      type: 'folder',
      location: { type: 'kiln', key: 'outputs/job_1/file_1/' },
    });
    expect(upgradeStored(legacy('outputs/job_1/file_1.mp4')).target).toEqual({
      type: 'file',
      location: { type: 'kiln', key: 'outputs/job_1/file_1.mp4' },
    });
    const current = queuedJob();
    expect(upgradeStored(structuredClone(current))).toEqual(current);
  });

  it('gives the tasks of a job stored before tasks had options the options they would have now', () => {
    const current = queuedJob();
    const legacy = structuredClone(current);
    for (const task of legacy.job.tasks) delete (task as Partial<typeof task>).options;
    expect(upgradeStored(legacy).job.tasks.map((t) => t.options)).toEqual(current.job.tasks.map((t) => t.options));
  });
});

describe('claim', () => {
  it('starts a run of the current generation with a new attempt number', () => {
    const state = queuedJob();
    const claim = claimRun(state, 1, T0 + 5);
    expect(claim).toEqual({ action: 'dispatch', change: { log: { type: 'run_started', detail: { attempt: 1 } } } });
    expect(state).toMatchObject({ claimedSeq: 1, attempt: 1, heartbeatAt: T0 + 5, job: { status: 'processing', started_at: T0 + 5 } });
  });

  it('does not start a second run for a duplicate message, an older generation or a finished job', () => {
    const state = runningJob();
    expect(claimRun(state, 1, T0)).toEqual({ action: 'skip', reason: 'duplicate' });
    expect(claimRun(state, 2, T0)).toEqual({ action: 'skip', reason: 'stale' });
    cancelJob(state, T0);
    expect(claimRun(state, 1, T0)).toEqual({ action: 'skip', reason: 'terminal' });
    expect(state.attempt).toBe(1);
  });

  it("starts a run at creation under a new generation, so the job's queue message starts none", () => {
    const state = queuedJob();
    expect(claimNow(state, T0 + 5)).toEqual({ action: 'dispatch', change: { log: { type: 'run_started', detail: { attempt: 1 } } } });
    expect(state).toMatchObject({ seq: 2, claimedSeq: 2, attempt: 1, job: { status: 'processing' } });
    expect(claimRun(state, 1, T0 + 6)).toEqual({ action: 'skip', reason: 'stale' });
  });

  it('starts nothing at creation when the queue message started the run first, or the job finished', () => {
    const state = runningJob();
    expect(claimNow(state, T0)).toEqual({ action: 'skip', reason: 'duplicate' });
    cancelJob(state, T0);
    expect(claimNow(state, T0)).toEqual({ action: 'skip', reason: 'terminal' });
    expect(state).toMatchObject({ seq: 1, attempt: 1 });
  });
});

describe('waiting for a run slot of the tenant', () => {
  it('leaves the job queued and its run count alone; the watchdog sends a message only once the next one is overdue', () => {
    const state = queuedJob();
    const at = T0 + 1_000;
    expect(waitForSlot(state, 1, at, SLOT_WAIT_MAX_S)).toEqual({ action: 'wait', seq: 2 });
    expect(state).toMatchObject({ claimedSeq: null, attempt: 0, job: { status: 'queued' } });
    const overdue = at + SLOT_WAIT_MAX_S * 1000 + SLOT_WAIT_RESEND_GRACE_MS;
    expect(watchdog(state, overdue - 1, HEARTBEAT_TIMEOUT_MS)).toBeNull();
    // The message of the new generation was never sent (or was lost): the job sends one itself.
    expect(watchdog(state, overdue, HEARTBEAT_TIMEOUT_MS)).toMatchObject({
      log: { type: 'queue_resend', detail: { seq: 2 } },
      enqueue: true,
    });
  });

  it('hands the job to the message of a new generation: the one that waited, or a batch it came in, is stale from then', () => {
    const state = queuedJob();
    expect(waitForSlot(state, 1, T0, SLOT_WAIT_BASE_S)).toEqual({ action: 'wait', seq: 2 });
    expect(claimRun(state, 1, T0)).toEqual({ action: 'skip', reason: 'stale' });
    expect(waitForSlot(state, 1, T0, SLOT_WAIT_BASE_S)).toEqual({ action: 'skip', reason: 'stale' });
    expect(failJob(state, { kind: 'processor_busy', message: 'dead-lettered' }, 1, T0)).toBeNull();
    expect(claimRun(state, 2, T0)).toMatchObject({ action: 'dispatch' });
    expect(state).toMatchObject({ seq: 2, claimedSeq: 2, attempt: 1 });
  });

  it('tells a message that could not start a run anyway to go', () => {
    const state = runningJob();
    expect(waitForSlot(state, 1, T0, SLOT_WAIT_BASE_S)).toEqual({ action: 'skip', reason: 'duplicate' });
    expect(waitForSlot(state, 2, T0, SLOT_WAIT_BASE_S)).toEqual({ action: 'skip', reason: 'stale' });
    cancelJob(state, T0);
    expect(waitForSlot(state, 1, T0, SLOT_WAIT_BASE_S)).toEqual({ action: 'skip', reason: 'terminal' });
  });
});

describe('release (the retry policy)', () => {
  it('gives a busy claim back without reusing the attempt, and puts the job back to queued', () => {
    const state = runningJob();
    const release = releaseClaim(state, { attempt: 1, outcome: 'busy', detail: 'x'.repeat(300) }, T0 + 10);
    expect(release.next).toBe('retry');
    expect(release.change?.log).toEqual({ type: 'run_deferred', detail: { attempt: 1, reason: `busy: ${'x'.repeat(200)}` } });
    expect(state).toMatchObject({ claimedSeq: null, heartbeatAt: null, attempt: 1, enqueuedAt: T0 + 10, job: { status: 'queued' } });
    claimRun(state, 1, T0 + 20);
    expect(state.attempt).toBe(2);
  });

  it('keeps the early resend of a run given back when its next dispatch finds no processor', () => {
    const state = runningJob();
    recordProgress(state, { stage: 'encode', percent: 20 }, T0);
    giveBack(state, { attempt: 1, stage: 'encode', reason: 'stopping' }, T0 + 10);
    const resendAt = nextCheckAt(state, T0 + 10, 60_000);
    expect(resendAt).toBe(T0 + 10 + GIVEN_BACK_RESEND_MS);
    expect(claimRun(state, state.seq, T0 + 20)).toMatchObject({ action: 'dispatch' });
    releaseClaim(state, { attempt: 2, outcome: 'unreachable', detail: 'connection refused' }, T0 + 30);
    expect(nextCheckAt(state, T0 + 30, 60_000)).toBe(resendAt);
  });

  it('keeps a job that already made progress or lost a run in processing', () => {
    const state = runningJob();
    recordProgress(state, { stage: 'import', percent: 50 }, T0);
    releaseClaim(state, { attempt: 1, outcome: 'busy', detail: 'full' }, T0);
    expect(state.job.status).toBe('processing');
  });

  it('ignores a release by an attempt that is no longer current', () => {
    const state = runningJob();
    const before = structuredClone(state);
    expect(releaseClaim(state, { attempt: 7, outcome: 'unreachable', detail: 'gone' }, T0)).toEqual({ next: 'retry', change: null });
    expect(state).toEqual(before);
  });

  it(`fails with the last error after ${MAX_UNREACHABLE_DISPATCHES} dispatches in a row that reached no processor`, () => {
    const state = queuedJob();
    for (let n = 1; n < MAX_UNREACHABLE_DISPATCHES; n++) {
      claimRun(state, 1, T0);
      expect(releaseClaim(state, { attempt: n, outcome: 'unreachable', detail: `refused ${n}` }, T0).next).toBe('retry');
    }
    claimRun(state, 1, T0);
    const last = releaseClaim(state, { attempt: MAX_UNREACHABLE_DISPATCHES, outcome: 'unreachable', detail: 'exit code 1' }, T0);
    expect(last.next).toBe('failed');
    expect(state.job.status).toBe('failed');
    expect(state.job.error).toEqual({
      kind: 'processor_unavailable',
      message: `No processor could be reached in ${MAX_UNREACHABLE_DISPATCHES} attempts; the last error was: exit code 1. Check the processor's logs (for Containers: wrangler tail and the dashboard), then submit the job again.`,
    });
    expect(last.change?.log).toEqual({ type: 'failed', detail: state.job.error });
  });

  it('never counts a busy processor, and a run that reports resets the count', () => {
    const state = queuedJob();
    for (let n = 1; n <= MAX_UNREACHABLE_DISPATCHES + 1; n++) {
      claimRun(state, 1, T0);
      releaseClaim(state, { attempt: n, outcome: 'busy', detail: 'full' }, T0);
    }
    expect(state.unreachableDispatches).toBe(0);
    claimRun(state, 1, T0);
    releaseClaim(state, { attempt: state.attempt, outcome: 'unreachable', detail: 'down' }, T0);
    claimRun(state, 1, T0);
    recordProgress(state, { stage: 'import', percent: 1 }, T0);
    expect(state.unreachableDispatches).toBe(0);
  });
});

describe('processor events', () => {
  it('belong to the current run only; a finished job ignores them, any other run is told to stop', () => {
    const state = runningJob();
    expect(isCurrentRun(state, 1)).toBe(true);
    expect(isCurrentRun(state, 2)).toBe(false);
    expect(refusal(state)).toEqual({ accepted: false, cancelled: true });
    expect(refusal(null)).toEqual({ accepted: false, cancelled: true });
    markSucceeded(state, OUTPUT, null, T0);
    expect(isCurrentRun(state, 1)).toBe(false);
    expect(refusal(state)).toEqual({ accepted: false, cancelled: false });
    const cancelled = runningJob();
    cancelJob(cancelled, T0);
    expect(refusal(cancelled)).toEqual({ accepted: false, cancelled: true });
  });

  it('move progress forward only, close earlier tasks and count as a heartbeat', () => {
    const state = runningJob();
    recordProgress(state, { stage: 'encode', percent: 50 }, T0 + 1_000);
    recordProgress(state, { stage: 'import', percent: 10 }, T0 + 2_000);
    expect(state.job.progress).toBe(57);
    expect(state.job.tasks.map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'processing', 'waiting']);
    expect(state.heartbeatAt).toBe(T0 + 2_000);
  });

  it("show each task its input, options and output as Files, as in Ittybit's get-job example", () => {
    const state = runningJob();
    const given = { object: 'external_file', url: NEW_JOB.request.input };
    expect(state.job.tasks.map((t) => [t.input, t.options])).toEqual([
      [given, {}],
      [given, {}],
      [null, NEW_JOB.options],
      [null, {}],
    ]);
    const input: FileObject = { object: 'file', id: 'file_in', url: NEW_JOB.request.input, ...OUTPUT_INFO };
    recordProgress(state, { stage: 'encode', percent: 100, input }, T0);
    expect(taskByStage(state.job, 'probe').output).toEqual(input);
    expect(taskByStage(state.job, 'import').output).toEqual(input);
    expect(taskByStage(state.job, 'encode').input).toEqual(input);
    markSucceeded(state, OUTPUT, null, T0);
    expect(taskByStage(state.job, 'export')).toMatchObject({ input: OUTPUT, output: OUTPUT });
  });

  it("show an s3:// output as the export task's options", () => {
    const location = { type: 's3', connection_id: 'conn_1', bucket: 'media', key: 'out/clip.mp4' } as const;
    const { state } = createJob({ ...structuredClone(NEW_JOB), target: { type: 'file', location } });
    expect(taskByStage(state.job, 'export').options).toEqual({ url: 's3://media/out/clip.mp4', connection_id: 'conn_1' });
  });

  it('record success: every task done, the output on the job and its encode and export tasks', () => {
    const state = runningJob();
    const change = markSucceeded(state, OUTPUT, ['start clamped'], T0 + 9);
    expect(change.log).toEqual({ type: 'succeeded', detail: ['start clamped'] });
    expect(state.job).toMatchObject({ status: 'succeeded', progress: 100, output: OUTPUT, finished_at: T0 + 9, error: null });
    expect(state.job.tasks.every((t) => t.status === 'succeeded')).toBe(true);
    expect([taskByStage(state.job, 'encode').output, taskByStage(state.job, 'export').output]).toEqual([OUTPUT, OUTPUT]);
    expect(state).toMatchObject({ claimedSeq: null, heartbeatAt: null });
  });

  it('follow the run, which downloads (import) before it probes: a probe failing after the download leaves the import done', () => {
    const state = runningJob();
    recordProgress(state, { stage: 'import', percent: 100 }, T0);
    expect(state.job.tasks.map((t) => t.status)).toEqual(['waiting', 'processing', 'waiting', 'waiting']);
    recordProgress(state, { stage: 'probe', percent: 0 }, T0 + 1);
    expect(state.job.tasks.map((t) => t.status)).toEqual(['processing', 'succeeded', 'waiting', 'waiting']);
    expect(state.job.progress).toBe(15);
    const error = { kind: 'input_not_media', message: 'The input is not a video, audio or image file Kiln can read.' } as const;
    markFailed(state, error, 'probe', T0 + 2);
    expect(state.job.tasks.map((t) => t.status)).toEqual(['failed', 'succeeded', 'cancelled', 'cancelled']);
    expect(taskByStage(state.job, 'probe').error).toEqual(error);
    expect(taskByStage(state.job, 'import').error).toBeNull();
  });

  it('fail the stage that failed even when an earlier attempt got through it', () => {
    const state = runningJob();
    // Attempt 1 downloads and starts probing, then is lost; attempt 2's download fails.
    recordProgress(state, { stage: 'probe', percent: 50 }, T0);
    const error = { kind: 'input_unreachable', message: 'The input answered HTTP 404.' } as const;
    markFailed(state, error, 'import', T0 + 1);
    expect(state.job.tasks.map((t) => t.status)).toEqual(['cancelled', 'failed', 'cancelled', 'cancelled']);
    expect(taskByStage(state.job, 'import').error).toEqual(error);
  });

  it('record failure: that task fails, earlier ones are done, later ones cancelled', () => {
    const state = runningJob();
    recordProgress(state, { stage: 'import', percent: 30 }, T0);
    const error = { kind: 'no_video_stream', message: 'The input has no video stream; use kind "audio".' } as const;
    expect(markFailed(state, error, 'encode', T0).log).toEqual({ type: 'failed', detail: error });
    expect(state.job.tasks.map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'failed', 'cancelled']);
    expect(taskByStage(state.job, 'encode').error).toEqual(error);
    expect(state.job).toMatchObject({ status: 'failed', error });
  });
});

describe('failures and cancellation from outside a run', () => {
  it('fail the first unfinished stage of a run (the import, before anything ran), unless the job finished or the message is of another generation', () => {
    const state = runningJob();
    expect(failJob(state, BROKEN, 2, T0)).toBeNull();
    expect(failJob(state, BROKEN, 1, T0)?.log).toEqual({ type: 'failed', detail: BROKEN });
    // Listed probe, import, encode, export; run import first.
    expect(state.job.tasks.map((t) => t.status)).toEqual(['cancelled', 'failed', 'cancelled', 'cancelled']);
    expect(failJob(state, { kind: 'timeout', message: 'late' }, undefined, T0)).toBeNull();
    expect(state.job.error).toEqual(BROKEN);
  });

  it('cancel every unfinished task, and leave a finished job alone', () => {
    const state = runningJob();
    recordProgress(state, { stage: 'encode', percent: 5 }, T0);
    expect(cancelJob(state, T0)?.log).toEqual({ type: 'cancelled', detail: null });
    expect(state.job.tasks.map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'cancelled', 'cancelled']);
    expect(cancelJob(state, T0)).toBeNull();
  });
});

describe('a run given back by a stopping processor', () => {
  const run = { attempt: 1, stage: 'encode' as const, reason: 'The processor is stopping (SIGTERM).' };

  it('re-queues the job at once under a new generation, and has its alarm resend soon if no run claims it', () => {
    const state = runningJob(T0);
    const now = T0 + 7_000;
    expect(giveBack(state, run, now)).toEqual({ log: { type: 'run_given_back', detail: run }, enqueue: true });
    expect(state).toMatchObject({ seq: 2, claimedSeq: null, heartbeatAt: null, lostRuns: 0, givenBackRuns: 1 });
    expect(isCurrentRun(state, 1)).toBe(false);
    expect(nextCheckAt(state, now, HEARTBEAT_TIMEOUT_MS)).toBe(now + GIVEN_BACK_RESEND_MS);
    expect(watchdog(state, now + GIVEN_BACK_RESEND_MS, HEARTBEAT_TIMEOUT_MS)?.log.type).toBe('queue_resend');
    expect(claimRun(state, 2, now).action).toBe('dispatch');
  });

  it(`fails the job, naming the reason, at the ${MAX_RUNS_GIVEN_BACK}th give-back`, () => {
    const state = queuedJob();
    let change = null;
    for (let i = 1; i <= MAX_RUNS_GIVEN_BACK; i++) {
      claimRun(state, state.seq, T0 + i);
      change = giveBack(state, { ...run, attempt: state.attempt }, T0 + i);
    }
    expect(change?.log.type).toBe('failed');
    expect(state.job.status).toBe('failed');
    expect(state.job.error).toEqual({
      kind: 'processor_unavailable',
      message: `The processor was stopped during ${MAX_RUNS_GIVEN_BACK} runs of this job (the last one said: ${run.reason}); check the processor's deployments and logs, then submit the job again.`,
    });
  });
});

describe('watchdog verdict', () => {
  it('keeps a run whose heartbeat is fresh', () => {
    const state = runningJob(T0);
    expect(watchdog(state, T0 + HEARTBEAT_TIMEOUT_MS - 1, HEARTBEAT_TIMEOUT_MS)).toBeNull();
  });

  it('re-queues a silent run under a new generation, so its messages and events are stale', () => {
    const state = runningJob(T0);
    const now = T0 + HEARTBEAT_TIMEOUT_MS;
    const change = watchdog(state, now, HEARTBEAT_TIMEOUT_MS);
    expect(change).toEqual({ log: { type: 'run_lost', detail: { attempt: 1, silent_s: HEARTBEAT_TIMEOUT_MS / 1000 } }, enqueue: true });
    expect(state).toMatchObject({
      seq: 2,
      claimedSeq: null,
      heartbeatAt: null,
      lostRuns: 1,
      enqueuedAt: now,
      job: { status: 'processing' },
    });
    expect(isCurrentRun(state, 1)).toBe(false);
    expect(claimRun(state, 1, now)).toEqual({ action: 'skip', reason: 'stale' });
  });

  it(`fails with kind timeout at the ${MAX_RUN_ATTEMPTS}th silent run`, () => {
    const state = queuedJob();
    let now = T0;
    for (let run = 1; run <= MAX_RUN_ATTEMPTS; run++) {
      claimRun(state, state.seq, now);
      now += HEARTBEAT_TIMEOUT_MS + 1_000;
      watchdog(state, now, HEARTBEAT_TIMEOUT_MS);
    }
    expect(state.job.status).toBe('failed');
    expect(state.job.error?.kind).toBe('timeout');
    expect(state.job.error?.message).toMatch(/stopped responding 3 times \(last silent for 61 s\)/);
    expect(watchdog(state, now + QUEUE_STALL_MS, HEARTBEAT_TIMEOUT_MS)).toBeNull();
  });

  it('re-sends the queue message of a job that sat unclaimed past the stall limit', () => {
    const state = queuedJob();
    expect(watchdog(state, T0 + QUEUE_STALL_MS - 1, HEARTBEAT_TIMEOUT_MS)).toBeNull();
    expect(watchdog(state, T0 + QUEUE_STALL_MS, HEARTBEAT_TIMEOUT_MS)).toEqual({
      log: { type: 'queue_resend', detail: { seq: 1 } },
      enqueue: true,
    });
    expect(state.enqueuedAt).toBe(T0 + QUEUE_STALL_MS);
  });

  it('re-sends a first message that could not be sent once CREATE_RETRY_MS have passed', () => {
    const state = queuedJob();
    resendSoon(state, T0);
    expect(watchdog(state, T0 + CREATE_RETRY_MS - 1, HEARTBEAT_TIMEOUT_MS)).toBeNull();
    expect(watchdog(state, T0 + CREATE_RETRY_MS, HEARTBEAT_TIMEOUT_MS)?.enqueue).toBe(true);
    const claimed = runningJob();
    resendSoon(claimed, T0);
    expect(claimed.enqueuedAt).toBe(T0);
  });
});

describe('next check', () => {
  it('is the stall limit while queued, the heartbeat deadline while running, and nothing once finished', () => {
    const state = queuedJob();
    expect(nextCheckAt(state, T0, HEARTBEAT_TIMEOUT_MS)).toBe(T0 + QUEUE_STALL_MS);
    claimRun(state, 1, T0 + 10);
    expect(nextCheckAt(state, T0 + 20, HEARTBEAT_TIMEOUT_MS)).toBe(T0 + 10 + HEARTBEAT_TIMEOUT_MS);
    cancelJob(state, T0 + 30);
    expect(nextCheckAt(state, T0 + 40, HEARTBEAT_TIMEOUT_MS)).toBeNull();
  });

  it('comes within CREATE_RETRY_MS while the tenant index is stale, even for a finished job', () => {
    const state = runningJob();
    markSucceeded(state, OUTPUT, null, T0);
    state.indexStale = true;
    expect(nextCheckAt(state, T0 + 1, HEARTBEAT_TIMEOUT_MS)).toBe(T0 + 1 + CREATE_RETRY_MS);
  });

  it('backs off retries of a stale tenant index as the failure lasts, up to INDEX_RETRY_MAX_MS', () => {
    const state = runningJob();
    markSucceeded(state, OUTPUT, null, T0);
    state.indexStale = true;
    expect(nextCheckAt(state, T0 + 60_000, HEARTBEAT_TIMEOUT_MS)).toBe(T0 + 120_000);
    expect(nextCheckAt(state, T0 + 24 * 3_600_000, HEARTBEAT_TIMEOUT_MS)).toBe(T0 + 24 * 3_600_000 + INDEX_RETRY_MAX_MS);
  });
});
