/** The run every ffmpeg encoder shares: trimmed input, the job's time and byte budgets, abort and progress. */
import type { ErrorBody } from '../../schemas/errors.ts';
import type { TrimPlan } from '../trim/index.ts';
import type { EncodeContext } from '../types.ts';
import { type FfmpegInput, type FfmpegPass, ffmpegErrorBody, runFfmpegPasses } from './index.ts';

/** One ffmpeg run of an encode; the trimmed input comes first, `extraInputs` follow it. */
export type EncodePass = Pick<FfmpegPass, 'output' | 'outputOptions' | 'complexFilter'> & {
  extraInputs?: FfmpegInput[];
  /** Share of the encode's progress bar (default 1). */
  weight?: number;
};

/**
 * Runs one or more ffmpeg passes over the trimmed input, one after another, sharing the job's
 * time limit, abort signal, progress bar and output byte limit.
 *
 * @example
 * const ran = await encodeTrimmed(ctx, trim, { output, outputOptions: ['-c:v', 'libx264'] });
 */
export async function encodeTrimmed(
  ctx: EncodeContext,
  trim: Extract<TrimPlan, { ok: true }>,
  ...passes: EncodePass[]
): Promise<{ ok: true } | { ok: false; error: ErrorBody }> {
  const result = await runFfmpegPasses(
    passes.map(({ extraInputs = [], weight = 1, ...run }) => ({
      ...run,
      inputs: [{ path: ctx.inputPath, options: trim.inputOptions }, ...extraInputs],
      expectedS: trim.seconds,
      weight,
      outputLimit: { dir: ctx.workDir, maxBytes: ctx.limits.maxOutputBytes },
    })),
    { timeoutMs: ctx.limits.maxProcessingS * 1000, signal: ctx.signal, onProgress: ctx.onProgress },
  );
  return result.ok ? { ok: true } : { ok: false, error: ffmpegErrorBody(result.error) };
}
