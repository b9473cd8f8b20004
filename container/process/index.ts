/**
 * The processor's entry point: validate options, probe the input, encode one output, probe the
 * output. Expected failures come back as values with the stage they happened in; a throw is a bug.
 */
import { cancelledError, type ErrorBody } from '../../schemas/errors.ts';
import type { MediaInfo } from '../../schemas/file.ts';
import type { AdaptiveVideoOptions, AnimationOptions, AudioOptions, ImageOptions, JobKind, VideoOptions } from '../../schemas/options.ts';
import { encodeAdaptive } from '../adaptive/index.ts';
import { encodeAnimation } from '../animation/index.ts';
import { encodeAudio } from '../audio/index.ts';
import { encodeImage } from '../image/index.ts';
import { DEFAULT_LIMITS, type Limits } from '../limits.ts';
import { probeFile } from '../probe/index.ts';
import { INPUT_DEMUXERS } from '../probe/mime.ts';
import type { EncodeContext, EncodeResult } from '../types.ts';
import { encodeVideo } from '../video/index.ts';
import { validateOptions } from './validate.ts';

export interface ProcessRequest {
  kind: JobKind;
  /** Re-validated with `OptionsByKind[kind]` (strict). */
  options: unknown;
  /** Local temp file, already downloaded. */
  inputPath: string;
  /** Fresh temp dir for outputs; the caller creates and deletes it. */
  workDir: string;
  /** A multi-file output's main file name, when the job's output names one. */
  outputName?: string;
  limits: Limits;
  /** Abort → ffmpeg is killed and the result is `{ ok: false, error: { kind: 'cancelled' } }`. */
  signal?: AbortSignal;
  onProgress?: (stage: 'probe' | 'encode', percent: number) => void;
}

export type ProcessResult =
  | { ok: true; input: MediaInfo; output: { path: string; info: MediaInfo }; notes: string[] }
  | { ok: false; stage: 'probe' | 'encode'; error: ErrorBody };

/** Outputs are ours, so the output probe only guards against a broken encoder, not against users. */
const OUTPUT_PROBE_LIMITS: Limits = {
  maxInputBytes: Number.MAX_SAFE_INTEGER,
  maxDurationS: Number.MAX_SAFE_INTEGER,
  maxImagePixels: Number.MAX_SAFE_INTEGER,
  maxVideoPixels: Number.MAX_SAFE_INTEGER,
  maxProcessingS: Number.MAX_SAFE_INTEGER,
  maxOutputBytes: Number.MAX_SAFE_INTEGER,
  maxOutputImagePixels: Number.MAX_SAFE_INTEGER,
  maxOutputVideoPixels: Number.MAX_SAFE_INTEGER,
  maxAnimationPixels: Number.MAX_SAFE_INTEGER,
  maxAnimatedWebpPixels: Number.MAX_SAFE_INTEGER,
  maxAudioChannels: Number.MAX_SAFE_INTEGER,
  maxLosslessAudioS: Number.MAX_SAFE_INTEGER,
  minInputBytesPerS: DEFAULT_LIMITS.minInputBytesPerS,
  inputRateWindowS: DEFAULT_LIMITS.inputRateWindowS,
  inputDeadlineS: DEFAULT_LIMITS.inputDeadlineS,
  inputDeadlineBytesPerS: DEFAULT_LIMITS.inputDeadlineBytesPerS,
};

/** Kiln's own HLS output is a playlist of its own segments, the one playlist that is ever probed. */
const OUTPUT_PROBE_DEMUXERS = [...INPUT_DEMUXERS, 'hls'];

function encode(kind: JobKind, ctx: EncodeContext, options: unknown): Promise<EncodeResult> {
  // `options` has been validated against OptionsByKind[kind] by the caller.
  switch (kind) {
    case 'video':
      return encodeVideo(ctx, options as VideoOptions);
    case 'image':
      return encodeImage(ctx, options as ImageOptions);
    case 'audio':
      return encodeAudio(ctx, options as AudioOptions);
    case 'animation':
      return encodeAnimation(ctx, options as AnimationOptions);
    case 'adaptive_video':
      return encodeAdaptive(ctx, options as AdaptiveVideoOptions);
  }
}

/**
 * Runs one job on a local file.
 *
 * @example
 * const result = await processMedia({ kind: 'video', options: { width: 1280 }, inputPath: '/tmp/in.mov',
 *   workDir: '/tmp/job-1', limits: limitsFromEnv(process.env) });
 * if (result.ok) console.log(result.output.path, result.output.info.width);
 * else console.error(result.stage, result.error.kind, result.error.message);
 */
export async function processMedia(req: ProcessRequest): Promise<ProcessResult> {
  const validated = validateOptions(req.kind, req.options);
  if (!validated.ok) return { ok: false, stage: 'probe', error: validated.error };
  if (req.signal?.aborted) return { ok: false, stage: 'probe', error: cancelledError() };

  req.onProgress?.('probe', 0);
  const probe = await probeFile(req.inputPath, req.limits, req.signal);
  if (!probe.ok) return { ok: false, stage: 'probe', error: probe.error };
  req.onProgress?.('probe', 100);
  if (req.signal?.aborted) return { ok: false, stage: 'probe', error: cancelledError() };

  req.onProgress?.('encode', 0);
  const ctx: EncodeContext = {
    inputPath: req.inputPath,
    workDir: req.workDir,
    outputName: req.outputName,
    info: probe.info,
    details: probe.details,
    limits: req.limits,
    signal: req.signal,
    onProgress: (percent) => req.onProgress?.('encode', percent),
  };
  const encoded = await encodeProbed(req.kind, validated.options, ctx);
  if (!encoded.ok) return { ok: false, stage: 'encode', error: encoded.error };
  return { ok: true, input: probe.info, output: encoded.output, notes: encoded.notes };
}

/** An encode read back: the output's path and MediaInfo and the notes for the user, or why it failed. */
export type EncodedOutput = { ok: true; output: { path: string; info: MediaInfo }; notes: string[] } | { ok: false; error: ErrorBody };

/**
 * Encodes one output from an input that is already probed (a coalesced run probes once for all
 * its outputs) and reads the output back.
 *
 * @example
 * const encoded = await encodeProbed('video', validated.options, ctx);
 */
export async function encodeProbed(kind: JobKind, options: unknown, ctx: EncodeContext): Promise<EncodedOutput> {
  const encoded = await encode(kind, ctx, options);
  if (ctx.signal?.aborted) return { ok: false, error: cancelledError() };
  if (!encoded.ok) return encoded;
  return readBack(encoded, ctx.signal);
}

/**
 * Probes an encoder's output; a file that cannot be read back is a broken encoder, not the user's problem.
 *
 * @example
 * const read = await readBack({ ok: true, path: '/tmp/job/output.mp4', notes: [] });
 */
export async function readBack(encoded: Extract<EncodeResult, { ok: true }>, signal?: AbortSignal): Promise<EncodedOutput> {
  const outputProbe = await probeFile(encoded.path, OUTPUT_PROBE_LIMITS, signal, OUTPUT_PROBE_DEMUXERS);
  if (!outputProbe.ok) {
    return {
      ok: false,
      error: { kind: 'processing_failed', message: 'The encoder produced a file that cannot be read back; please report this input.' },
    };
  }
  const info: MediaInfo = { ...outputProbe.info, ...encoded.override };
  return { ok: true, output: { path: encoded.path, info }, notes: encoded.notes };
}
