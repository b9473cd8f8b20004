import { setTimeout as sleep } from 'node:timers/promises';
import { runNotWantedError } from '../../schemas/errors.ts';
import type { MediaInfo } from '../../schemas/file.ts';
import { MAX_REPORT_NOTES, type ProcessorEvent, REPORT_TEXT_MAX_CHARS, type TaskStage } from '../../schemas/processor.ts';

/** The Worker's watchdog waits 60 s (worker/constants.ts HEARTBEAT_TIMEOUT_MS); beat well inside that. */
export const HEARTBEAT_INTERVAL_MS = 5_000;
/** Progress is sent at most this often within a stage, so a fast encode does not flood the Worker. */
export const PROGRESS_MIN_INTERVAL_MS = 1_000;
/** How long one callback may take before it counts as failed. */
export const CALLBACK_TIMEOUT_MS = 10_000;
/** Attempts for the final result; waits doubling from 0.5 s add up to about a minute, so a Worker blip loses nothing. */
export const FINAL_REPORT_ATTEMPTS = 8;
export const FINAL_REPORT_RETRY_BASE_MS = 500;
/**
 * The whole budget for telling the Worker a run is given back (container/main.ts stops the
 * processor soon after): a Worker that does not answer in time finds the run by its watchdog.
 */
export const GIVE_BACK_TIMEOUT_MS = 5_000;

/** The terminal event cut to the Worker's limits: a longer text would be refused, and the run with it. */
function withinLimits(event: Extract<ProcessorEvent, { type: 'succeeded' | 'failed' }>): typeof event {
  if (event.type === 'failed') return { ...event, error: { ...event.error, message: event.error.message.slice(0, REPORT_TEXT_MAX_CHARS) } };
  if (!event.notes) return event;
  return { ...event, notes: event.notes.slice(0, MAX_REPORT_NOTES).map((note) => note.slice(0, REPORT_TEXT_MAX_CHARS)) };
}

export interface Reporter {
  progress(stage: TaskStage, percent: number, input?: MediaInfo): void;
  /** Sends the terminal event, retrying until the Worker records it; stops the heartbeat. */
  finish(event: Extract<ProcessorEvent, { type: 'succeeded' | 'failed' }>): Promise<boolean>;
  /** Tells the Worker the run stopped unfinished so the job is queued again at once; stops the heartbeat. Whether the Worker took it, within GIVE_BACK_TIMEOUT_MS. */
  giveBack(stage: TaskStage, reason: string): Promise<boolean>;
}

/**
 * Reports one run to the Worker's callback URL. A `409` answer means the job no longer wants
 * this run (cancelled, finished, or superseded by a newer attempt): the run is aborted.
 */
export function createReporter(opts: {
  url: string;
  token: string;
  attempt: number;
  abort: AbortController;
  fetcher?: typeof fetch;
}): Reporter {
  const fetcher = opts.fetcher ?? fetch;
  let last: Extract<ProcessorEvent, { type: 'progress' }> = { type: 'progress', attempt: opts.attempt, stage: 'import', progress: 0 };
  let lastSentAt = 0;
  let inFlight = false;
  // The probe's result rides on every progress event until the Worker has acknowledged one: a
  // single send can be skipped (another POST in flight) or lost, and the Worker ignores it once
  // the terminal event is recorded.
  let unacknowledgedInput: MediaInfo | undefined;

  async function post(event: ProcessorEvent, signal = AbortSignal.timeout(CALLBACK_TIMEOUT_MS)): Promise<number | null> {
    try {
      const res = await fetcher(opts.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(event),
        signal,
      });
      await res.body?.cancel();
      if (res.ok && event.type === 'progress' && event.input && event.input === unacknowledgedInput) acknowledgeInput();
      if (res.status === 409) opts.abort.abort(new Error(runNotWantedError().message));
      return res.status;
    } catch {
      return null;
    }
  }

  function acknowledgeInput(): void {
    unacknowledgedInput = undefined;
    const { input: _sent, ...rest } = last;
    last = rest;
  }

  /**
   * POSTs an event until the Worker answers below 500 (or attempts, or the `budget`, run out); the
   * status, or null.
   */
  async function postUntilAnswered(event: ProcessorEvent, budget?: AbortSignal): Promise<number | null> {
    for (let attempt = 1; attempt <= FINAL_REPORT_ATTEMPTS && !budget?.aborted; attempt++) {
      const status = await post(event, budget ? AbortSignal.any([budget, AbortSignal.timeout(CALLBACK_TIMEOUT_MS)]) : undefined);
      if (status !== null && status < 500) return status;
      if (attempt < FINAL_REPORT_ATTEMPTS) {
        await sleep(FINAL_REPORT_RETRY_BASE_MS * 2 ** (attempt - 1), undefined, { signal: budget }).catch(() => {});
      }
    }
    return null;
  }

  function send(): void {
    if (inFlight) return;
    inFlight = true;
    lastSentAt = Date.now();
    void post(last).finally(() => {
      inFlight = false;
    });
  }

  const heartbeat = setInterval(send, HEARTBEAT_INTERVAL_MS);
  heartbeat.unref();

  return {
    progress(stage, percent, input) {
      const stageChanged = stage !== last.stage;
      if (input) unacknowledgedInput = input;
      last = {
        type: 'progress',
        attempt: opts.attempt,
        stage,
        progress: Math.max(0, Math.min(100, percent)),
        ...(unacknowledgedInput ? { input: unacknowledgedInput } : {}),
      };
      if (stageChanged || input || Date.now() - lastSentAt >= PROGRESS_MIN_INTERVAL_MS) send();
    },
    async finish(event) {
      clearInterval(heartbeat);
      // The probe's result first: the Worker ignores progress once the terminal event is recorded.
      if (unacknowledgedInput && (await postUntilAnswered(last)) === 409) return false;
      const status = await postUntilAnswered(withinLimits(event));
      return status !== null && status >= 200 && status < 300;
    },
    async giveBack(stage, reason) {
      clearInterval(heartbeat);
      const event: ProcessorEvent = { type: 'given_back', attempt: opts.attempt, stage, reason };
      // Within GIVE_BACK_TIMEOUT_MS, which its exponential backoff reaches long before FINAL_REPORT_ATTEMPTS.
      const status = await postUntilAnswered(event, AbortSignal.timeout(GIVE_BACK_TIMEOUT_MS));
      return status !== null && status >= 200 && status < 300;
    },
  };
}
