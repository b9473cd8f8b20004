import { z } from 'zod';
import { defaultFormat, formatNamed, formatNames, formatOptionNames, type OutputFormat } from './formats.ts';

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
/** A day, the bound of every time option: past any input the processor takes by default (KILN_MAX_DURATION_S, 4 h). */
const SECONDS_MAX = 86_400;
const seconds = z.number().min(0).max(SECONDS_MAX);

export const Quality = z.enum(['very_low', 'low', 'medium', 'high', 'very_high']);
export type Quality = z.infer<typeof Quality>;
/** The tier a job gets when it names none. */
export const DEFAULT_QUALITY: Quality = 'medium';
/**
 * `auto`, the default in Ittybit's CLI docs, is the tier a job gets when it names none: Kiln picks
 * no tier per input, so the job shows the tier it ran with.
 */
const QualityOption = z.enum([...Quality.options, 'auto']).transform((value): Quality => (value === 'auto' ? DEFAULT_QUALITY : value));

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
  quality: QualityOption.optional().describe('Quality tier (default medium; auto is medium too); see the README table.'),
  start: seconds.optional().describe('Start time in seconds.'),
  end: seconds.optional().describe('End time in seconds.'),
};

/**
 * The `format` option of a kind: its formats or another name for one (`jpg`), read as the format
 * itself so the job and the processor only ever see the table's names.
 */
function formatOption<K extends JobKind>(kind: K) {
  // formatNamed finds every name formatOptionNames lists, so the fallback is never taken.
  return z.enum(formatOptionNames(kind)).transform((name) => formatNamed(kind, name) ?? (name as OutputFormat<K>));
}

/**
 * An option from Ittybit's guides that Kiln cannot honour: refused by name, with what to do
 * instead, rather than as an unknown field.
 */
function unsupported(instead: string) {
  return z
    .unknown()
    .superRefine((value, ctx) => {
      if (value !== undefined) ctx.addIssue({ code: 'custom', message: instead, params: { unsupported: true } });
    })
    .optional()
    .describe(`Not supported: ${instead}`);
}

/** `duration` (older Ittybit docs): the clip's length from `start`, the same as end = start + duration. */
const duration = z
  .number()
  .positive()
  .max(SECONDS_MAX)
  .optional()
  .describe('Clip length in seconds from start, the same as end = start + duration; not with end.');

function durationAsEnd<T extends { start?: number | undefined; end?: number | undefined; duration?: number | undefined }>(
  value: T,
  ctx: z.RefinementCtx,
) {
  if (value.duration === undefined) return;
  if (value.end !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['duration'], message: 'Expected only one of duration and end (end = start + duration)' });
  } else if ((value.start ?? 0) + value.duration > SECONDS_MAX) {
    ctx.addIssue({ code: 'custom', path: ['duration'], message: `Expected start + duration to be at most ${SECONDS_MAX} s` });
  }
}

/** Folds `duration` into `end`, so the encoders only know start and end. */
function withEnd<T extends { start?: number | undefined; end?: number | undefined; duration?: number | undefined }>({
  duration: length,
  ...rest
}: T): Omit<T, 'duration'> {
  return length === undefined ? rest : { ...rest, end: (rest.start ?? 0) + length };
}

function endAfterStart<T extends { start?: number | undefined; end?: number | undefined }>(value: T, ctx: z.RefinementCtx) {
  if (value.start !== undefined && value.end !== undefined && value.end <= value.start) {
    ctx.addIssue({ code: 'custom', path: ['end'], message: 'Expected end to be greater than start' });
  }
}

const VideoCodec = z.enum(['h264', 'h265', 'vp9', 'av1']);
/** Which codecs each container carries (Ittybit's rule): AV1 in MOV plays nowhere that matters. */
const CODECS_BY_FORMAT = {
  mp4: ['h264', 'h265', 'av1'],
  mov: ['h264', 'h265'],
  webm: ['vp9', 'av1'],
} as const satisfies Record<OutputFormat<'video'>, readonly z.infer<typeof VideoCodec>[]>;
const SUBTITLES_INSTEAD = 'serve the VTT/SRT file next to the video in an HTML track element, or burn it in before sending the video.';
/** A day at 60 fps: the most frames the longest clip at the highest frame rate has. */
const FRAMES_MAX = SECONDS_MAX * 60;

function orList(items: readonly string[]): string {
  return items.length > 1 ? `${items.slice(0, -1).join(', ')} or ${items.at(-1)}` : (items[0] ?? '');
}

export const VideoOptions = z
  .strictObject({
    ...shared,
    format: formatOption('video')
      .optional()
      .describe(`Container (default ${defaultFormat('video')}).`),
    codec: VideoCodec.optional().describe('h264 or h265 in mp4/mov, vp9 in webm, av1 in mp4/webm (default h264, vp9 for webm).'),
    fps: z.number().min(1).max(60).optional().describe("Frames per second (default: the source's, at most 60)."),
    bitrate: z
      .number()
      .int()
      .min(300_000)
      .max(60_000_000)
      .optional()
      .describe('Cap in bits per second (default: none; quality sets the size).'),
    mute: z.boolean().optional().describe('Drop the audio track.'),
    mute_video: z.boolean().optional().describe('Another name for mute (used in some Ittybit guides).'),
    frames: z
      .number()
      .int()
      .min(1)
      .max(FRAMES_MAX)
      .optional()
      .describe('Stop after this many frames; with start/end, whichever comes first.'),
    duration,
    subtitle_url: unsupported(SUBTITLES_INSTEAD),
    subtitle_style: unsupported(SUBTITLES_INSTEAD),
    layers: unsupported('add image or text overlays to the video before sending it.'),
  })
  .superRefine(endAfterStart)
  .superRefine(durationAsEnd)
  .superRefine((value, ctx) => {
    const format = value.format ?? defaultFormat('video');
    const codecs: readonly string[] = CODECS_BY_FORMAT[format];
    if (value.codec !== undefined && !codecs.includes(value.codec)) {
      const hint = value.codec === 'av1' ? ' (av1 needs format mp4 or webm)' : '';
      ctx.addIssue({ code: 'custom', path: ['codec'], message: `Expected ${orList(codecs)} for format ${format}${hint}` });
    }
    if (value.mute !== undefined && value.mute_video !== undefined && value.mute !== value.mute_video) {
      ctx.addIssue({
        code: 'custom',
        path: ['mute_video'],
        message: 'Expected the same value as mute (mute_video is another name for it)',
      });
    }
  })
  // The refused options are undefined here; dropping them keeps them out of the encoder's type.
  .transform(({ mute_video, subtitle_url, subtitle_style, layers, ...value }) => {
    const mute = value.mute ?? mute_video;
    return withEnd(mute === undefined ? value : { ...value, mute });
  })
  .meta({ id: 'VideoOptions' });

export const ImageOptions = z
  .strictObject({
    ...shared,
    format: formatOption('image')
      .optional()
      .describe(
        'Output format (default: a jpeg, png, webp or avif input keeps its own; a video frame or HEIC gives jpeg; GIF, SVG and BMP give png).',
      ),
    interval: unsupported('a job makes one image; create one image job per frame, each with options.start set to its time.'),
  })
  .transform(({ interval, ...value }) => value)
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
    format: z
      .enum(formatNames('audio'))
      .optional()
      .describe(`Output format (default ${defaultFormat('audio')}).`),
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

/**
 * 50 fps: GIF frame delays are whole hundredths of a second, and browsers play a delay under
 * 2/100 s as 1/10 s, so a faster GIF would play slower. Animated WebP times frames in ms.
 */
const GIF_FPS_MAX = 50;

export const AnimationOptions = z
  .strictObject({
    ...shared,
    format: formatOption('animation')
      .optional()
      .describe(`Output format (default ${defaultFormat('animation')}).`),
    fps: z.number().min(1).max(60).optional().describe(`Frames per second (default 10; at most ${GIF_FPS_MAX} for gif).`),
    end: seconds.optional().describe('End time in seconds (default start + 5 s, at most the end of the input).'),
    duration,
  })
  .superRefine(endAfterStart)
  .superRefine(durationAsEnd)
  .superRefine((value, ctx) => {
    if ((value.format ?? defaultFormat('animation')) === 'gif' && value.fps !== undefined && value.fps > GIF_FPS_MAX) {
      ctx.addIssue({
        code: 'custom',
        path: ['fps'],
        message: `Expected at most ${GIF_FPS_MAX} for format gif (browsers slow faster GIFs down; use format webp for more)`,
      });
    }
  })
  .transform(withEnd)
  .meta({ id: 'AnimationOptions' });

export const AdaptiveVideoOptions = z
  .strictObject({
    ...shared,
    width: shared.width.describe('Top rendition width: pixels, or a percentage of the source such as "50%"; lower rungs follow.'),
    height: shared.height.describe('Top rendition height: pixels, or a percentage of the source such as "50%"; lower rungs follow.'),
    format: z
      .enum(formatNames('adaptive_video'))
      .optional()
      .describe(`Output format (default ${defaultFormat('adaptive_video')}, the only one).`),
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
