/**
 * Safety limits for untrusted media (docs/api.md#limits-and-security). Every limit has a default that is safe for a
 * small container and can be raised through the environment; raising one is a deliberate,
 * risky choice (memory, disk and CPU are what these protect).
 */
import { KilnError } from '../schemas/errors.ts';
import { PRESIGNED_URL_TTL_S } from '../schemas/processor.ts';

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
 * 5 h: the largest KILN_MAX_PROCESSING_S. A run must end while the presigned URLs minted at its
 * start are valid (PRESIGNED_URL_TTL_S, 6 h); the hour left covers dispatch and clock drift.
 */
export const MAX_PROCESSING_S_CAP = PRESIGNED_URL_TTL_S - 60 * 60;

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
}

export const DEFAULT_LIMITS: Limits = {
  maxInputBytes: DEFAULT_MAX_INPUT_BYTES,
  maxDurationS: DEFAULT_MAX_DURATION_S,
  maxImagePixels: DEFAULT_MAX_IMAGE_PIXELS,
  maxVideoPixels: DEFAULT_MAX_VIDEO_PIXELS,
  maxProcessingS: DEFAULT_MAX_PROCESSING_S,
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

function atMost(value: number, max: number, name: string, why: string): number {
  if (value > max) throw new InvalidLimitError(`Expected at most ${max} for ${name} (${why}) but received "${value}"`);
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
    maxProcessingS: atMost(
      positive(env, 'KILN_MAX_PROCESSING_S', DEFAULT_MAX_PROCESSING_S),
      MAX_PROCESSING_S_CAP,
      'KILN_MAX_PROCESSING_S',
      'presigned URLs expire after that',
    ),
  };
}
