/**
 * Pacing for input downloads: a server that keeps its connection alive with a byte now and then
 * (inside the socket idle timeout) would otherwise hold a processor slot until the processing
 * time limit. Two limits end it: a minimum rate over a sliding window, and an overall deadline
 * that grows with the size of the input.
 */
import type { Limits } from '../limits.ts';

export type InputPace = Pick<Limits, 'minInputBytesPerS' | 'inputRateWindowS' | 'inputDeadlineS' | 'inputDeadlineBytesPerS'>;

/** The abort reason when an input is too slow; its message is what the user reads. */
export class SlowInputError extends Error {
  override name = 'SlowInputError';
}

/** Checks per window (or per deadline base, if shorter): the rate is measured to a tenth of the window. */
const CHECKS_PER_WINDOW = 10;
/** Upper bound on the check interval, so a long window still reacts within a second of its deadline. */
const MAX_CHECK_INTERVAL_MS = 1_000;

export interface PaceWatch {
  /** Aborted with a {@link SlowInputError} once the input is too slow. */
  signal: AbortSignal;
  /** Counts body bytes as they arrive. */
  received(bytes: number): void;
  /** Sets the length the response declares (Content-Length), which sizes the deadline. */
  declare(bytes: number): void;
  /** Stops the checks; call it when the download ends, however it ends. */
  stop(): void;
}

function seconds(s: number): string {
  return String(Math.round(s * 10) / 10);
}

/**
 * Starts watching one download from the moment it is requested (slow response headers count).
 *
 * @example
 * const pace = watchPace(limits, 'https://example.com/in.mp4');
 * try { await pipeline(response, meter, file, { signal: AbortSignal.any([pace.signal, cancel]) }); } finally { pace.stop(); }
 */
export function watchPace(limits: InputPace, source: string): PaceWatch {
  const abort = new AbortController();
  const start = Date.now();
  const windowMs = limits.inputRateWindowS * 1000;
  const minWindowBytes = limits.minInputBytesPerS * limits.inputRateWindowS;
  let bytes = 0;
  let declared: number | null = null;
  // (time, bytes so far) samples; the oldest one kept is the newest at least one window old.
  const samples: { at: number; bytes: number }[] = [{ at: start, bytes: 0 }];

  const deadlineS = () => limits.inputDeadlineS + (declared ?? bytes) / limits.inputDeadlineBytesPerS;
  const check = () => {
    const now = Date.now();
    if (now - start > deadlineS() * 1000) {
      const part =
        declared === null
          ? `received, KILN_INPUT_DEADLINE_BYTES_PER_S); ${bytes} bytes had arrived`
          : `declared, KILN_INPUT_DEADLINE_BYTES_PER_S); ${bytes} of ${declared} bytes had arrived`;
      const message = `Downloading the input from ${source} took longer than its ${seconds(deadlineS())} s deadline (KILN_INPUT_DEADLINE_S = ${seconds(limits.inputDeadlineS)} s plus 1 s per ${limits.inputDeadlineBytesPerS} bytes ${part}. Serve the input from faster storage (a presigned S3 or R2 URL, for example) and retry.`;
      return abort.abort(new SlowInputError(message));
    }
    samples.push({ at: now, bytes });
    while (samples.length > 1 && (samples[1]?.at ?? now) <= now - windowMs) samples.shift();
    const oldest = samples[0];
    if (!oldest || now - oldest.at < windowMs) return;
    const sent = bytes - oldest.bytes;
    if (sent < minWindowBytes) {
      const message = `The input server at ${source} sent ${sent} bytes in the last ${seconds(limits.inputRateWindowS)} s, under the minimum of ${limits.minInputBytesPerS} bytes/s (KILN_MIN_INPUT_BYTES_PER_S, over KILN_INPUT_RATE_WINDOW_S = ${seconds(limits.inputRateWindowS)} s); the download was stopped after ${bytes} bytes. Serve the input from faster storage (a presigned S3 or R2 URL, for example) and retry.`;
      abort.abort(new SlowInputError(message));
    }
  };
  const intervalMs = Math.min(MAX_CHECK_INTERVAL_MS, Math.min(windowMs, limits.inputDeadlineS * 1000) / CHECKS_PER_WINDOW);
  const timer = setInterval(() => {
    check();
    if (abort.signal.aborted) clearInterval(timer);
  }, intervalMs);
  return {
    signal: abort.signal,
    received: (n) => {
      bytes += n;
    },
    declare: (n) => {
      declared = n;
    },
    stop: () => clearInterval(timer),
  };
}
