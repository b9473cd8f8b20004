/**
 * Animation: a looping GIF (palettegen/paletteuse, one palette per clip) or animated WebP from a
 * stretch of video (docs/api.md#animation). Without `end` it covers ANIMATION_DEFAULT_SECONDS from `start`,
 * so nobody turns a feature film into a GIF by leaving it out.
 * Memory stays flat whatever the length: the GIF takes two passes (palette, then frames) instead
 * of one graph that holds every frame until the palette is known, and an animated WebP, whose
 * encoder keeps every frame to the end, is refused beyond `KILN_MAX_ANIMATED_WEBP_PIXELS`.
 */
import { join } from 'node:path';
import { defaultFormat, extensionFor } from '../../schemas/formats.ts';
import type { AnimationOptions } from '../../schemas/options.ts';
import { encodeTrimmed } from '../ffmpeg/encode.ts';
import { FRAME_CLOCK_FILTER } from '../ffmpeg/index.ts';
import { outputPixelsError, overLimitError } from '../limits.ts';
import { displaySize } from '../probe/index.ts';
import { largestFrame, planResize } from '../resize/index.ts';
import { planTrim, secs } from '../trim/index.ts';
import type { EncodeContext, EncodeResult } from '../types.ts';
import { videoFilters } from '../video/filters.ts';
import { animatedWebpQuality } from './quality.ts';

/** Frames per second when none is asked for: smooth enough for previews, small enough for GIF. */
export const ANIMATION_DEFAULT_FPS = 10;
/**
 * Seconds from `start` when no `end` is asked for: a hover preview or reaction loop. At the
 * default size and rate that is 50 frames of 480 px, a GIF of a few megabytes, and an animated
 * WebP far inside KILN_MAX_ANIMATED_WEBP_PIXELS.
 */
export const ANIMATION_DEFAULT_SECONDS = 5;
/** Width cap when neither width nor height is given: GIFs of full-HD video are tens of megabytes. */
export const ANIMATION_DEFAULT_MAX_WIDTH = 480;
/**
 * The palette pass only decodes and counts colours; the second pass also dithers and encodes,
 * so it gets twice the share of the progress bar.
 */
const GIF_PALETTE_WEIGHT = 1;
const GIF_FRAMES_WEIGHT = 2;
/**
 * Above 4K UHD the decoder runs on one thread: each frame thread holds its own 50 MB 8K frame,
 * and an 8K input peaked at 430 MB with three threads, 225 MB with one. An animation is small, so
 * decoding is slower but the run stays within the memory one request may use.
 */
const SINGLE_THREAD_DECODE_PIXELS = 3840 * 2160;

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
  const start = options.start ?? 0;
  const end =
    options.end ??
    (info.duration === null ? start + ANIMATION_DEFAULT_SECONDS : Math.min(start + ANIMATION_DEFAULT_SECONDS, info.duration));
  const planned = planTrim(info.duration, options.start, end);
  if (!planned.ok) return planned;
  if (options.end === undefined) {
    planned.notes.push(`No end given; animated ${secs(end - start)} from ${secs(start)} (at most ${ANIMATION_DEFAULT_SECONDS} s).`);
  }
  const trim =
    info.width * info.height > SINGLE_THREAD_DECODE_PIXELS
      ? { ...planned, inputOptions: [...planned.inputOptions, '-threads', '1'] }
      : planned;
  const format = options.format ?? defaultFormat('animation');
  const fps = options.fps ?? ANIMATION_DEFAULT_FPS;
  const shown = displaySize(info, details);
  const request =
    options.width === undefined && options.height === undefined
      ? { ...options, width: Math.min(shown.width, ANIMATION_DEFAULT_MAX_WIDTH) }
      : options;
  const { plan, notes } = planResize(shown, request, { even: false });
  const tooBig = outputPixelsError(largestFrame(plan), ctx.limits, 'maxAnimationPixels');
  if (tooBig) return { ok: false, error: tooBig };
  const chain = (pixFmt?: string) => videoFilters({ plan, details, background: options.background, fps, pixFmt }).join(',');
  const base = chain();
  const output = join(ctx.workDir, `output.${extensionFor('animation', format)}`);
  const common = ['-an', '-map_metadata', '-1'];
  if (format === 'gif') {
    const palette = join(ctx.workDir, 'palette.png');
    // One palette for the whole clip, dithered with an ordered (bayer) pattern that compresses
    // far better than error diffusion; only changed rectangles are re-encoded.
    // biome-ignore format: ffmpeg arguments read as flag/value pairs
    const ran = await encodeTrimmed(
      ctx,
      trim,
      {
        output: palette,
        outputOptions: [
          '-map', '0:v:0', ...common, '-vf', `${base},${FRAME_CLOCK_FILTER},palettegen=stats_mode=diff`,
          '-frames:v', '1', '-update', '1', '-f', 'image2',
        ],
        weight: GIF_PALETTE_WEIGHT,
      },
      {
        output,
        extraInputs: [{ path: palette }],
        complexFilter: `[0:v]${base}[frames];[frames][1:v]paletteuse=dither=bayer:bayer_scale=5:diff_mode=rectangle[gif]`,
        outputOptions: ['-map', '[gif]', ...common, '-loop', '0', '-f', 'gif'],
        weight: GIF_FRAMES_WEIGHT,
      },
    );
    if (!ran.ok) return ran;
    return { ok: true, path: output, notes: [...trim.notes, ...notes] };
  }
  const frames = Math.ceil((trim.seconds ?? 0) * Number(fps));
  const framePixels = frames * plan.width * plan.height;
  if (framePixels > ctx.limits.maxAnimatedWebpPixels) {
    return {
      ok: false,
      error: overLimitError(
        'maxAnimatedWebpPixels',
        ctx.limits.maxAnimatedWebpPixels,
        `An animated WebP of ${frames} frames at ${plan.width}×${plan.height} is ${framePixels} pixels in all (its encoder keeps every frame in memory)`,
        'use format gif, a shorter clip (start/end), a lower fps or a smaller size',
      ),
    };
  }
  // biome-ignore format: ffmpeg arguments read as flag/value pairs
  const ran = await encodeTrimmed(ctx, trim, {
    output,
    outputOptions: [
      '-map', '0:v:0', ...common, '-vf', chain('yuva420p'),
      '-c:v', 'libwebp_anim', '-lossless', '0', '-quality', String(animatedWebpQuality(options.quality)),
      '-compression_level', '4', '-loop', '0', '-f', 'webp',
    ],
  });
  if (!ran.ok) return ran;
  return { ok: true, path: output, notes: [...trim.notes, ...notes] };
}
