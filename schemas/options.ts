import { z } from 'zod';
import { defaultFormat, formatNames } from './formats.ts';

/**
 * Options per job kind (docs/api.md#options). Every object is strict so an unknown option is refused by
 * name; the processor re-validates with the same schemas before it touches ffmpeg or sharp.
 */

/** "12.5%" is plenty; the bound keeps a huge digit string from reaching the regex and the error message. */
const PERCENT_MAX_CHARS = 16;
const percent = z
  .string()
  .max(PERCENT_MAX_CHARS)
  .regex(/^(100|[1-9]?\d(\.\d+)?)%$/, 'Expected a percentage such as "50%"');
const dimension = z.union([z.number().int().min(1).max(16_384), percent]);
const seconds = z.number().min(0).max(86_400);

export const Quality = z.enum(['very_low', 'low', 'medium', 'high', 'very_high']);
export type Quality = z.infer<typeof Quality>;
/** The tier a job gets when it names none. */
export const DEFAULT_QUALITY: Quality = 'medium';

export const Fit = z.enum(['contain', 'cover', 'fill']);
export const Position = z.enum(['center', 'top', 'bottom', 'left', 'right', 'top_left', 'top_right', 'bottom_left', 'bottom_right']);

const shared = {
  width: dimension.optional().describe('Pixels, or a percentage of the source such as "50%".'),
  height: dimension.optional().describe('Pixels, or a percentage of the source such as "50%".'),
  fit: Fit.optional().describe('How to fit into width × height when both are given (default contain).'),
  position: Position.optional().describe('Anchor for cover/contain (default center).'),
  background: z
    .string()
    .max(7)
    .regex(/^#[0-9a-fA-F]{6}$/, 'Expected a colour such as "#000000"')
    .optional()
    .describe('Padding colour for fit=contain.'),
  quality: Quality.optional().describe('Quality tier (default medium); see the README table.'),
  start: seconds.optional().describe('Start time in seconds.'),
  end: seconds.optional().describe('End time in seconds.'),
};

function endAfterStart<T extends { start?: number | undefined; end?: number | undefined }>(value: T, ctx: z.RefinementCtx) {
  if (value.start !== undefined && value.end !== undefined && value.end <= value.start) {
    ctx.addIssue({ code: 'custom', path: ['end'], message: 'Expected end to be greater than start' });
  }
}

export const VideoOptions = z
  .strictObject({
    ...shared,
    format: z.enum(formatNames('video')).optional(),
    codec: z.enum(['h264', 'h265', 'vp9', 'av1']).optional(),
    fps: z.number().min(1).max(60).optional(),
    bitrate: z.number().int().min(300_000).max(60_000_000).optional(),
    mute: z.boolean().optional(),
  })
  .superRefine(endAfterStart)
  .superRefine((value, ctx) => {
    const format = value.format ?? defaultFormat('video');
    if (format === 'webm' && (value.codec === 'h264' || value.codec === 'h265')) {
      ctx.addIssue({ code: 'custom', path: ['codec'], message: 'Expected vp9 or av1 for format webm' });
    }
    if (format !== 'webm' && value.codec === 'vp9') {
      ctx.addIssue({ code: 'custom', path: ['codec'], message: `Expected h264, h265 or av1 for format ${format}` });
    }
  })
  .meta({ id: 'VideoOptions' });

export const ImageOptions = z
  .strictObject({
    ...shared,
    format: z.enum(formatNames('image')).optional(),
  })
  .meta({ id: 'ImageOptions' });

/** EBU R128 programme loudness Kiln normalises to when a job names none: the podcast norm. */
export const DEFAULT_TARGET_LUFS = -16;

/**
 * Options Ittybit's guides show that Kiln cannot honour: accepted as names so the 400 says why
 * and what to do instead, rather than "Unknown field".
 */
const WAVEFORM_REFUSAL =
  'a job writes one audio file and Kiln makes no waveform data: remove waveform and waveform_points, and compute peaks from the audio output in your player.';
const refused = z.unknown().optional().describe(`Not supported: ${WAVEFORM_REFUSAL}`);

export const AudioOptions = z
  .strictObject({
    quality: shared.quality,
    start: shared.start,
    end: shared.end,
    format: z.enum(formatNames('audio')).optional(),
    bitrate: z.number().int().min(32_000).max(320_000).optional().describe('Bits per second, 32000–320000 (default from quality).'),
    normalize: z
      .enum(['lufs'])
      .optional()
      .describe('"lufs": adjust the programme loudness to target_lufs (EBU R128, ffmpeg loudnorm, two passes).'),
    target_lufs: z
      .number()
      .min(-70)
      .max(-5)
      .optional()
      .describe(`Loudness for normalize "lufs", in LUFS (default ${DEFAULT_TARGET_LUFS}; podcasts -16, music streaming -14).`),
    waveform: refused,
    waveform_points: refused,
  })
  .superRefine(endAfterStart)
  .superRefine((value, ctx) => {
    if (value.target_lufs !== undefined && value.normalize === undefined) {
      ctx.addIssue({ code: 'custom', path: ['normalize'], message: 'Expected "lufs" (target_lufs only applies with normalize "lufs")' });
    }
    for (const key of ['waveform', 'waveform_points'] as const) {
      if (value[key] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: WAVEFORM_REFUSAL, params: { unsupported: true } });
      }
    }
  })
  .meta({ id: 'AudioOptions' });

export const AnimationOptions = z
  .strictObject({
    ...shared,
    format: z.enum(formatNames('animation')).optional(),
    fps: z.number().min(1).max(30).optional(),
    end: seconds.describe('End time in seconds (required).'),
  })
  .superRefine(endAfterStart)
  .meta({ id: 'AnimationOptions' });

export const AdaptiveVideoOptions = z
  .strictObject({
    ...shared,
    width: shared.width.describe('Top rendition width: pixels, or a percentage of the source such as "50%"; lower rungs follow.'),
    height: shared.height.describe('Top rendition height: pixels, or a percentage of the source such as "50%"; lower rungs follow.'),
    format: z.enum(formatNames('adaptive_video')).optional(),
  })
  .superRefine(endAfterStart)
  .meta({ id: 'AdaptiveVideoOptions' });

export const OptionsByKind = {
  video: VideoOptions,
  image: ImageOptions,
  audio: AudioOptions,
  animation: AnimationOptions,
  adaptive_video: AdaptiveVideoOptions,
} as const;

export const JobKind = z.enum(['video', 'image', 'audio', 'animation', 'adaptive_video']);
export type JobKind = z.infer<typeof JobKind>;

export type VideoOptions = z.infer<typeof VideoOptions>;
export type ImageOptions = z.infer<typeof ImageOptions>;
export type AudioOptions = z.infer<typeof AudioOptions>;
export type AnimationOptions = z.infer<typeof AnimationOptions>;
export type AdaptiveVideoOptions = z.infer<typeof AdaptiveVideoOptions>;
export type JobOptions = VideoOptions | ImageOptions | AudioOptions | AnimationOptions | AdaptiveVideoOptions;
