/**
 * Safety limits for untrusted media (docs/api.md#limits-and-security). Every limit has a default that is safe for a
 * small container and can be raised through the environment; raising one is a deliberate,
 * risky choice (memory, disk and CPU are what these protect).
 */
import { KilnError } from '../schemas/errors.ts';

/** 4 GiB: the largest upload a Cloudflare Container's disk comfortably holds twice (input + output). */
export const DEFAULT_MAX_INPUT_BYTES = 4 * 1024 ** 3;
/** 4 h: longer inputs are almost always mistakes (screen recordings left running) and would exceed the processing limit. */
export const DEFAULT_MAX_DURATION_S = 4 * 60 * 60;
/** 100 MP: larger than any phone or DSLR photo; a decoded RGBA image this size is already 400 MB. */
export const DEFAULT_MAX_IMAGE_PIXELS = 100_000_000;
/** 8K UHD (7680 × 4320): the largest frame any mainstream camera records. */
export const DEFAULT_MAX_VIDEO_PIXELS = 7680 * 4320;
/** 1 h: the wall-clock budget for one encode before ffmpeg is killed as hung. */
export const DEFAULT_MAX_PROCESSING_S = 60 * 60;
/**
 * 16 KiB/s (128 kbit/s), averaged over the window below: a quarter of the slowest ADSL uplink, so
 * no honest server falls under it, while a server that drips a byte a minute is dropped in one window.
 */
export const DEFAULT_MIN_INPUT_BYTES_PER_S = 16 * 1024;
/** 60 s: long enough to ride out a stalled TCP connection or a slow first byte. */
export const DEFAULT_INPUT_RATE_WINDOW_S = 60;
/** 10 min: the part of an input's download deadline that does not depend on its size (redirects, first byte, small files). */
export const DEFAULT_INPUT_DEADLINE_S = 10 * 60;
/**
 * 64 KiB/s (512 kbit/s): the deadline grows by one second for every this many bytes, so a 4 GiB
 * input gets 18 h and only the processing time limit (1 h) ends it; a 10 MiB input gets 12.7 min.
 */
export const DEFAULT_INPUT_DEADLINE_BYTES_PER_S = 64 * 1024;

export interface Limits {
  /** Largest input file, in bytes. */
  maxInputBytes: number;
  /** Longest input duration, in seconds. */
  maxDurationS: number;
  /** Largest still image (width × height) that is decoded. */
  maxImagePixels: number;
  /** Largest video frame (width × height). */
  maxVideoPixels: number;
  /** Wall-clock budget for one processing run, in seconds. */
  maxProcessingS: number;
  /** Slowest input download allowed, in bytes per second averaged over `inputRateWindowS`. */
  minInputBytesPerS: number;
  /** Sliding window, in seconds, over which the input download rate is measured. */
  inputRateWindowS: number;
  /** Fixed part of an input download's deadline, in seconds. */
  inputDeadlineS: number;
  /** The deadline grows by one second per this many bytes declared (or received, without a Content-Length). */
  inputDeadlineBytesPerS: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxInputBytes: DEFAULT_MAX_INPUT_BYTES,
  maxDurationS: DEFAULT_MAX_DURATION_S,
  maxImagePixels: DEFAULT_MAX_IMAGE_PIXELS,
  maxVideoPixels: DEFAULT_MAX_VIDEO_PIXELS,
  maxProcessingS: DEFAULT_MAX_PROCESSING_S,
  minInputBytesPerS: DEFAULT_MIN_INPUT_BYTES_PER_S,
  inputRateWindowS: DEFAULT_INPUT_RATE_WINDOW_S,
  inputDeadlineS: DEFAULT_INPUT_DEADLINE_S,
  inputDeadlineBytesPerS: DEFAULT_INPUT_DEADLINE_BYTES_PER_S,
};

/** A malformed `KILN_MAX_*` variable: a typo must stop the program, not silently disable a limit. */
export class InvalidLimitError extends KilnError {
  constructor(message: string) {
    super('invalid_input', message);
    this.name = 'InvalidLimitError';
  }
}

function positive(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidLimitError(`Expected a positive number for ${name} but received "${raw}"`);
  }
  return value;
}

/**
 * Reads the limits from environment variables, falling back to the defaults above.
 * `KILN_MAX_PIXELS` caps still images; `KILN_MAX_VIDEO_PIXELS` caps video frames.
 * A malformed value throws at startup: a typo must not silently disable a limit.
 *
 * @example
 * const limits = limitsFromEnv(process.env); // limits.maxInputBytes === 4 GiB unless KILN_MAX_INPUT_BYTES is set
 */
export function limitsFromEnv(env: Record<string, string | undefined>): Limits {
  return {
    maxInputBytes: positive(env, 'KILN_MAX_INPUT_BYTES', DEFAULT_MAX_INPUT_BYTES),
    maxDurationS: positive(env, 'KILN_MAX_DURATION_S', DEFAULT_MAX_DURATION_S),
    maxImagePixels: positive(env, 'KILN_MAX_PIXELS', DEFAULT_MAX_IMAGE_PIXELS),
    maxVideoPixels: positive(env, 'KILN_MAX_VIDEO_PIXELS', DEFAULT_MAX_VIDEO_PIXELS),
    maxProcessingS: positive(env, 'KILN_MAX_PROCESSING_S', DEFAULT_MAX_PROCESSING_S),
    minInputBytesPerS: positive(env, 'KILN_MIN_INPUT_BYTES_PER_S', DEFAULT_MIN_INPUT_BYTES_PER_S),
    inputRateWindowS: positive(env, 'KILN_INPUT_RATE_WINDOW_S', DEFAULT_INPUT_RATE_WINDOW_S),
    inputDeadlineS: positive(env, 'KILN_INPUT_DEADLINE_S', DEFAULT_INPUT_DEADLINE_S),
    inputDeadlineBytesPerS: positive(env, 'KILN_INPUT_DEADLINE_BYTES_PER_S', DEFAULT_INPUT_DEADLINE_BYTES_PER_S),
  };
}
