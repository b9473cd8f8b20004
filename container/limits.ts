/**
 * Safety limits for untrusted media (docs/api.md#limits-and-security). Every limit has a default that is safe for a
 * small container and can be raised through the environment; raising one is a deliberate,
 * risky choice (memory, disk and CPU are what these protect).
 */
import { type ErrorBody, KilnError } from '../schemas/errors.ts';
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
/**
 * 2 GiB: the disk budget. Two runs at once (KILN_CONCURRENCY), each holding a 4 GiB input and its
 * output, need 12 GiB, inside a standard-3 instance's 16 GB; at 4 GiB of output they would not fit.
 * Web outputs are smaller than their input; what grows is lossless audio, capped on its own.
 */
export const DEFAULT_MAX_OUTPUT_BYTES = 2 * 1024 ** 3;
/** 100 MP, as for inputs: `fit` can ask for 16384², which is 1 GiB of RGBA from a thumbnail. */
export const DEFAULT_MAX_OUTPUT_IMAGE_PIXELS = 100_000_000;
/** 8K UHD, as for inputs: no player shows more, and encoders allocate several frames of this size. */
export const DEFAULT_MAX_OUTPUT_VIDEO_PIXELS = 7680 * 4320;
/**
 * 720p: a GIF frame costs 4 bytes a pixel in every filter it crosses. A 1080p GIF of noisy video
 * peaked at 202 MiB of ffmpeg, too close to the 300 MB a run may use next to the processor's own ~90 MiB.
 */
export const DEFAULT_MAX_ANIMATION_PIXELS = 1280 * 720;
/**
 * 25 MP of frames (19 s of 480×270 at 10 fps): libwebp_anim keeps every encoded frame in memory
 * until the end, then copies them into the file. Noisy video at the top tier takes 0.6 byte a
 * pixel; 50 MP of 1080p frames peaked at 230 MiB of ffmpeg, 25 MP stays well under the 300 MB.
 */
export const DEFAULT_MAX_ANIMATED_WEBP_PIXELS = 25_000_000;
/** 7.1 surround: lossless outputs keep every source channel, and 64-channel WAVs grow 64 times as fast. */
export const DEFAULT_MAX_AUDIO_CHANNELS = 8;
/** 1 h of lossless audio: 8 channels of 48 kHz 16-bit PCM for an hour is 2.8 GB. */
export const DEFAULT_MAX_LOSSLESS_AUDIO_S = 60 * 60;
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
  /** Bytes one run may write (the output, every HLS segment, scratch files). */
  maxOutputBytes: number;
  /** Largest output image (width × height). */
  maxOutputImagePixels: number;
  /** Largest output video frame (width × height). */
  maxOutputVideoPixels: number;
  /** Largest animation frame (width × height). */
  maxAnimationPixels: number;
  /** Frames × width × height of one animated WebP. */
  maxAnimatedWebpPixels: number;
  /** Channels in a lossless (WAV, FLAC) output. */
  maxAudioChannels: number;
  /** Longest lossless (WAV, FLAC) output, in seconds. */
  maxLosslessAudioS: number;
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
  maxOutputBytes: DEFAULT_MAX_OUTPUT_BYTES,
  maxOutputImagePixels: DEFAULT_MAX_OUTPUT_IMAGE_PIXELS,
  maxOutputVideoPixels: DEFAULT_MAX_OUTPUT_VIDEO_PIXELS,
  maxAnimationPixels: DEFAULT_MAX_ANIMATION_PIXELS,
  maxAnimatedWebpPixels: DEFAULT_MAX_ANIMATED_WEBP_PIXELS,
  maxAudioChannels: DEFAULT_MAX_AUDIO_CHANNELS,
  maxLosslessAudioS: DEFAULT_MAX_LOSSLESS_AUDIO_S,
  minInputBytesPerS: DEFAULT_MIN_INPUT_BYTES_PER_S,
  inputRateWindowS: DEFAULT_INPUT_RATE_WINDOW_S,
  inputDeadlineS: DEFAULT_INPUT_DEADLINE_S,
  inputDeadlineBytesPerS: DEFAULT_INPUT_DEADLINE_BYTES_PER_S,
};

/** The environment variable behind each limit, for messages that say how to change it. */
export const LIMIT_ENV: Record<keyof Limits, string> = {
  maxInputBytes: 'KILN_MAX_INPUT_BYTES',
  maxDurationS: 'KILN_MAX_DURATION_S',
  maxImagePixels: 'KILN_MAX_PIXELS',
  maxVideoPixels: 'KILN_MAX_VIDEO_PIXELS',
  maxProcessingS: 'KILN_MAX_PROCESSING_S',
  maxOutputBytes: 'KILN_MAX_OUTPUT_BYTES',
  maxOutputImagePixels: 'KILN_MAX_OUTPUT_PIXELS',
  maxOutputVideoPixels: 'KILN_MAX_OUTPUT_VIDEO_PIXELS',
  maxAnimationPixels: 'KILN_MAX_ANIMATION_PIXELS',
  maxAnimatedWebpPixels: 'KILN_MAX_ANIMATED_WEBP_PIXELS',
  maxAudioChannels: 'KILN_MAX_AUDIO_CHANNELS',
  maxLosslessAudioS: 'KILN_MAX_LOSSLESS_AUDIO_S',
  minInputBytesPerS: 'KILN_MIN_INPUT_BYTES_PER_S',
  inputRateWindowS: 'KILN_INPUT_RATE_WINDOW_S',
  inputDeadlineS: 'KILN_INPUT_DEADLINE_S',
  inputDeadlineBytesPerS: 'KILN_INPUT_DEADLINE_BYTES_PER_S',
};

/**
 * The `invalid_input` for a request over one of the output limits: what was asked, the limit
 * with its variable and value, and what to change.
 *
 * @example
 * overLimitError('maxOutputImagePixels', 200_000_000, 'The output would be 16384×16384', 'ask for a smaller width/height');
 * // "The output needs a 16384×16384 frame (268435456 pixels), over the limit of KILN_MAX_OUTPUT_PIXELS = 200000000; ask for … or raise KILN_MAX_OUTPUT_PIXELS on the processor."
 */
export function overLimitError(limit: keyof Limits, value: number, what: string, fix: string): ErrorBody {
  const name = LIMIT_ENV[limit];
  return {
    kind: 'invalid_input',
    message: `${what}, over the limit of ${name} = ${value}; ${fix}, or raise ${name} on the processor.`,
  };
}

/** The error for a run whose files grew past `KILN_MAX_OUTPUT_BYTES`. */
export function outputBytesError(maxBytes: number): ErrorBody {
  return overLimitError(
    'maxOutputBytes',
    maxBytes,
    `The output grew past ${maxBytes} bytes and was stopped`,
    'ask for a shorter clip (start/end), a smaller size or a lower quality',
  );
}

/**
 * Refuses an output frame larger than `limit` allows, before anything is encoded.
 *
 * @example
 * outputPixelsError({ width: 16384, height: 16384 }, limits, 'maxOutputImagePixels'); // { kind: 'invalid_input', … }
 */
export function outputPixelsError(
  size: { width: number; height: number },
  limits: Limits,
  limit: 'maxOutputImagePixels' | 'maxOutputVideoPixels' | 'maxAnimationPixels',
): ErrorBody | null {
  if (size.width * size.height <= limits[limit]) return null;
  return overLimitError(
    limit,
    limits[limit],
    `The output needs a ${size.width}×${size.height} frame (${size.width * size.height} pixels)`,
    'ask for a smaller width/height',
  );
}

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
  const limits = Object.fromEntries(
    (Object.keys(LIMIT_ENV) as (keyof Limits)[]).map((key) => [key, positive(env, LIMIT_ENV[key], DEFAULT_LIMITS[key])]),
  ) as unknown as Limits;
  atMost(limits.maxProcessingS, MAX_PROCESSING_S_CAP, LIMIT_ENV.maxProcessingS, 'presigned URLs expire after that');
  return limits;
}

/** What a job hears when its run outlasted `KILN_MAX_PROCESSING_S`. */
export function timeLimitError(limits: Limits): ErrorBody {
  return {
    kind: 'timeout',
    message: `Processing took longer than the ${limits.maxProcessingS} s limit; trim the input or lower the quality.`,
  };
}
