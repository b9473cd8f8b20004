/**
 * Animation: a looping GIF (palettegen/paletteuse, one palette per clip) or animated WebP from a
 * stretch of video (docs/api.md#animation). `end` is required so nobody turns a feature film into a GIF.
 */
import { join } from 'node:path';
import { defaultFormat, extensionFor } from '../../schemas/formats.ts';
import type { AnimationOptions } from '../../schemas/options.ts';
import { encodeTrimmed } from '../ffmpeg/encode.ts';
import { planResize } from '../resize/index.ts';
import { planTrim } from '../trim/index.ts';
import type { EncodeContext, EncodeResult } from '../types.ts';
import { videoFilters } from '../video/filters.ts';
import { animatedWebpQuality } from './quality.ts';

/** Frames per second when none is asked for: smooth enough for previews, small enough for GIF. */
export const ANIMATION_DEFAULT_FPS = 10;
/** Width cap when neither width nor height is given: GIFs of full-HD video are tens of megabytes. */
export const ANIMATION_DEFAULT_MAX_WIDTH = 480;

/**
 * Encodes `[start, end)` of the input as an animation in `ctx.workDir`.
 *
 * @example
 * const result = await encodeAnimation(ctx, { start: 1, end: 3, width: 320, format: 'gif' });
 */
export async function encodeAnimation(ctx: EncodeContext, options: AnimationOptions): Promise<EncodeResult> {
  const { info, details } = ctx;
  const moving = info.kind === 'video' || (info.kind === 'image' && info.duration !== null && info.duration > 0);
  if (!moving || !info.width || !info.height) {
    return {
      ok: false,
      error: { kind: 'no_video_stream', message: 'The input has no video to animate; use a video or an animated GIF/WebP.' },
    };
  }
  const trim = planTrim(info.duration, options.start, options.end);
  if (!trim.ok) return trim;
  const format = options.format ?? defaultFormat('animation');
  const fps = options.fps ?? ANIMATION_DEFAULT_FPS;
  const request =
    options.width === undefined && options.height === undefined
      ? { ...options, width: Math.min(info.width, ANIMATION_DEFAULT_MAX_WIDTH) }
      : options;
  const { plan, notes } = planResize({ width: info.width, height: info.height }, request, { even: false });
  const base = videoFilters({ plan, details, background: options.background, fps }).join(',');
  // biome-ignore format: ffmpeg arguments read as flag/value pairs
  const outputOptions =
    format === 'gif'
      ? [
          '-vf',
          // One palette for the whole clip, dithered with an ordered (bayer) pattern that
          // compresses far better than error diffusion; only changed rectangles are re-encoded.
          `${base},split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=bayer:bayer_scale=5:diff_mode=rectangle`,
          '-loop', '0', '-f', 'gif',
        ]
      : [
          '-vf', `${base},format=yuva420p`,
          '-c:v', 'libwebp_anim', '-lossless', '0', '-quality', String(animatedWebpQuality(options.quality)),
          '-compression_level', '4', '-loop', '0', '-f', 'webp',
        ];
  const output = join(ctx.workDir, `output.${extensionFor('animation', format)}`);
  const ran = await encodeTrimmed(ctx, trim, {
    output,
    outputOptions: ['-map', '0:v:0', '-an', '-map_metadata', '-1', ...outputOptions],
  });
  if (!ran.ok) return ran;
  return { ok: true, path: output, notes: [...trim.notes, ...notes] };
}
