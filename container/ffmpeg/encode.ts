/** The run every ffmpeg encoder shares: trimmed input, the job's time budget, abort and progress. */
import type { ErrorBody } from '../../schemas/errors.ts';
import type { TrimPlan } from '../trim/index.ts';
import type { EncodeContext } from '../types.ts';
import { type FfmpegRun, ffmpegErrorBody, runFfmpeg } from './index.ts';

/**
 * @example
 * const ran = await encodeTrimmed(ctx, trim, { output, outputOptions: ['-c:v', 'libx264'] });
 */
export async function encodeTrimmed(
  ctx: EncodeContext,
  trim: Extract<TrimPlan, { ok: true }>,
  run: Pick<FfmpegRun, 'output' | 'outputOptions' | 'complexFilter'>,
): Promise<{ ok: true } | { ok: false; error: ErrorBody }> {
  const result = await runFfmpeg({
    ...run,
    inputs: [{ path: ctx.inputPath, options: trim.inputOptions }],
    expectedS: trim.seconds,
    timeoutMs: ctx.limits.maxProcessingS * 1000,
    signal: ctx.signal,
    onProgress: ctx.onProgress,
  });
  return result.ok ? { ok: true } : { ok: false, error: ffmpegErrorBody(result.error) };
}
