/** The run every ffmpeg encoder shares: trimmed input, the job's time and byte budgets, abort and progress. */
import type { ErrorBody } from '../../schemas/errors.ts';
import type { TrimPlan } from '../trim/index.ts';
import type { EncodeContext } from '../types.ts';
import { type FfmpegInput, type FfmpegPass, ffmpegErrorBody, runFfmpegPasses } from './index.ts';

/** One ffmpeg run of an encode; the trimmed input comes first, `extraInputs` follow it. */
export type EncodePass = Pick<FfmpegPass, 'output' | 'outputOptions' | 'complexFilter' | 'onStderr'> & {
  extraInputs?: FfmpegInput[];
  /** Share of the encode's progress bar (default 1). */
  weight?: number;
};

/** A pass built from what the passes before it measured, once they have run. */
export interface LaterEncodePass {
  weight: number;
  build: () => Omit<EncodePass, 'weight'>;
}

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
  ...passes: Array<EncodePass | LaterEncodePass>
): Promise<{ ok: true } | { ok: false; error: ErrorBody }> {
  const full = ({ extraInputs = [], ...run }: Omit<EncodePass, 'weight'>) => ({
    ...run,
    inputs: [{ path: ctx.inputPath, options: trim.inputOptions }, ...extraInputs],
    expectedS: trim.seconds,
    outputLimit: { dir: ctx.workDir, maxBytes: ctx.limits.maxOutputBytes },
  });
  const result = await runFfmpegPasses(
    passes.map((pass) =>
      'build' in pass ? { weight: pass.weight, build: () => full(pass.build()) } : { ...full(pass), weight: pass.weight ?? 1 },
    ),
    { timeoutMs: ctx.limits.maxProcessingS * 1000, signal: ctx.signal, onProgress: ctx.onProgress },
  );
  return result.ok ? { ok: true } : { ok: false, error: ffmpegErrorBody(result.error) };
}
