/**
 * Video: web-ready MP4/MOV (H.264/H.265/AV1 + AAC) or WebM (VP9/AV1 + Opus) from any video
 * input. Rotation applied, HDR tone mapped, constant frame rate, faststart (docs/api.md#video).
 */
import { join } from 'node:path';
import type { ErrorBody } from '../../schemas/errors.ts';
import { defaultFormat, extensionFor } from '../../schemas/formats.ts';
import type { VideoOptions } from '../../schemas/options.ts';
import { audioBitrate } from '../audio/quality.ts';
import { encodeTrimmed } from '../ffmpeg/encode.ts';
import { outputPixelsError } from '../limits.ts';
import { rationalValue } from '../probe/index.ts';
import { largestFrame, planResize } from '../resize/index.ts';
import { capTrim, planTrim, type TrimPlan } from '../trim/index.ts';
import type { EncodeContext, EncodeResult } from '../types.ts';
import { defaultFps, videoFilters } from './filters.ts';
import { type VideoQualityTier, videoQuality } from './quality.ts';

type Codec = NonNullable<VideoOptions['codec']>;

/**
 * H.264 level for a frame size and rate (ITU-T H.264 Table A-1, by luma samples per second),
 * floored at 3.0 which every device since 2010 decodes.
 */
export function h264Level(width: number, height: number, fps: number): string {
  const samplesPerSecond = width * height * fps;
  const frame = width * height;
  if (frame <= 414_720 && samplesPerSecond <= 10_368_000) return '3.0';
  if (frame <= 921_600 && samplesPerSecond <= 27_648_000) return '3.1';
  if (frame <= 1_310_720 && samplesPerSecond <= 55_296_000) return '3.2';
  if (frame <= 2_097_152 && samplesPerSecond <= 62_914_560) return '4.0';
  if (frame <= 2_228_224 && samplesPerSecond <= 133_693_440) return '4.2';
  if (frame <= 8_912_896 && samplesPerSecond <= 267_386_880) return '5.1';
  if (frame <= 8_912_896) return '5.2';
  return '6.0';
}

function videoCodecArgs(codec: Codec, tier: VideoQualityTier, bitrate: number | undefined): string[] {
  const cap = bitrate ? ['-maxrate', String(bitrate), '-bufsize', String(bitrate * 2)] : [];
  switch (codec) {
    case 'h264':
      return ['-c:v', 'libx264', '-preset', tier.h264.preset, '-crf', String(tier.h264.crf), '-profile:v', 'high', ...cap];
    case 'h265':
      // biome-ignore format: ffmpeg arguments read as flag/value pairs
      return [
        '-c:v', 'libx265', '-preset', tier.h265.preset, '-crf', String(tier.h265.crf), '-tag:v', 'hvc1',
        '-x265-params', 'log-level=error', ...cap,
      ];
    case 'vp9':
      // Constrained quality: -b:v is the ceiling when a cap is asked for, 0 means pure CRF.
      // biome-ignore format: ffmpeg arguments read as flag/value pairs
      return [
        '-c:v', 'libvpx-vp9', '-crf', String(tier.vp9.crf), '-b:v', String(bitrate ?? 0), '-deadline', 'good',
        '-cpu-used', String(tier.vp9.cpuUsed), '-row-mt', '1',
      ];
    case 'av1':
      // biome-ignore format: ffmpeg arguments read as flag/value pairs
      return [
        '-c:v', 'libsvtav1', '-preset', String(tier.av1.preset), '-crf', String(tier.av1.crf),
        ...(bitrate ? ['-svtav1-params', `mbr=${Math.round(bitrate / 1000)}`] : []),
      ];
  }
}

/** The one ffmpeg output a video job writes: its trim (input options), output path and output options. */
export type VideoPlan =
  | { ok: true; trim: Extract<TrimPlan, { ok: true }>; output: string; outputOptions: string[]; notes: string[] }
  | { ok: false; error: ErrorBody };

/**
 * Plans the encode of `ctx.inputPath` to a video file in `ctx.workDir` without running it: a
 * separate job runs it alone, a coalesced run (container/run/group.ts) as one output of a shared decode.
 *
 * @example
 * const plan = planVideo(ctx, { width: 1280, quality: 'high' });
 * if (plan.ok) console.log(plan.output, plan.outputOptions.join(' '));
 */
export function planVideo(ctx: Pick<EncodeContext, 'info' | 'details' | 'limits' | 'workDir'>, options: VideoOptions): VideoPlan {
  const { info, details } = ctx;
  // Animated GIFs are video in all but name (GIF → MP4 is the classic web optimisation).
  const animatedGif = info.kind === 'image' && info.format === 'gif' && (info.duration ?? 0) > 0;
  if ((info.kind !== 'video' && !animatedGif) || !info.width || !info.height) {
    const hint = info.kind === 'audio' ? 'use kind "audio" for audio-only files' : 'use kind "image" for still images';
    return { ok: false, error: { kind: 'no_video_stream', message: `The input has no video stream; ${hint}.` } };
  }
  const planned = planTrim(info.duration, options.start, options.end);
  if (!planned.ok) return planned;
  const format = options.format ?? defaultFormat('video');
  const codec: Codec = options.codec ?? (format === 'webm' ? 'vp9' : 'h264');
  const tier = videoQuality(options.quality);
  const audioBps = String(audioBitrate(options.quality));
  const { plan, notes } = planResize({ width: info.width, height: info.height }, options, { even: true });
  const tooBig = outputPixelsError(largestFrame(plan), ctx.limits, 'maxOutputVideoPixels');
  if (tooBig) return { ok: false, error: tooBig };
  const fps = options.fps !== undefined ? String(options.fps) : details.video ? defaultFps(details) : String(Math.min(60, info.fps ?? 30));
  // Half a frame past the count, so rounding `-t` never drops the last frame; `-frames:v` stops at the count.
  const trim = options.frames === undefined ? planned : capTrim(planned, (options.frames + 0.5) / rationalValue(fps));
  const withAudio = info.has_audio && !options.mute;
  const filters = videoFilters({
    plan,
    details,
    background: options.background,
    fps,
    pixFmt: 'yuv420p',
    source: { width: info.width, height: info.height },
  });

  // biome-ignore format: ffmpeg arguments read as flag/value pairs
  const outputOptions = [
    '-map', '0:v:0',
    ...(withAudio ? ['-map', '0:a:0'] : ['-an']),
    '-vf', filters.join(','),
    '-fps_mode', 'cfr',
    ...(options.frames === undefined ? [] : ['-frames:v', String(options.frames)]),
    ...videoCodecArgs(codec, tier, options.bitrate),
    '-pix_fmt', 'yuv420p',
    ...(codec === 'h264' ? ['-level:v', h264Level(plan.width, plan.height, Math.min(60, rationalValue(fps)))] : []),
    '-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709', '-color_range', 'tv',
    ...(withAudio
      ? format === 'webm'
        ? ['-c:a', 'libopus', '-b:a', audioBps, '-ac', '2', '-ar', '48000']
        : ['-c:a', 'aac', '-profile:a', 'aac_low', '-b:a', audioBps, '-ac', '2', '-ar', '48000']
      : []),
    // Strip container metadata (GPS and device tags in phone videos) and any rotation flag.
    '-map_metadata', '-1', '-map_chapters', '-1', '-metadata:s:v:0', 'rotate=0',
    ...(format === 'webm' ? ['-f', 'webm'] : ['-movflags', '+faststart', '-f', format]),
    '-max_muxing_queue_size', '4096',
  ];
  if (info.has_audio && options.mute) notes.push('Audio removed (mute).');
  const output = join(ctx.workDir, `output.${extensionFor('video', format)}`);
  return { ok: true, trim, output, outputOptions, notes: [...trim.notes, ...notes] };
}

/**
 * Encodes `ctx.inputPath` to a video file in `ctx.workDir`.
 *
 * @example
 * const result = await encodeVideo(ctx, { width: 1280, quality: 'high' });
 * if (result.ok) console.log(result.path); // <workDir>/output.mp4
 */
export async function encodeVideo(ctx: EncodeContext, options: VideoOptions): Promise<EncodeResult> {
  const plan = planVideo(ctx, options);
  if (!plan.ok) return plan;
  const ran = await encodeTrimmed(ctx, plan.trim, { output: plan.output, outputOptions: plan.outputOptions });
  if (!ran.ok) return ran;
  return { ok: true, path: plan.output, notes: plan.notes };
}
