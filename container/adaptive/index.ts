/**
 * Adaptive video: an HLS ladder (H.264 + AAC in MPEG-TS segments) no taller than the source,
 * with a master playlist that hls.js and Safari play (docs/api.md#adaptive_video); from an audio-only
 * input, one AAC variant. One ffmpeg run decodes once and encodes every rendition with aligned
 * keyframes so players can switch at segment boundaries.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { mimeFor } from '../../schemas/formats.ts';
import type { AdaptiveVideoOptions } from '../../schemas/options.ts';
import { audioBitrate } from '../audio/quality.ts';
import { encodeTrimmed } from '../ffmpeg/encode.ts';
import { outputPixelsError } from '../limits.ts';
import { displaySize, rationalValue } from '../probe/index.ts';
import { evenDown, largestFrame, planResize } from '../resize/index.ts';
import { planTrim, type TrimPlan } from '../trim/index.ts';
import type { EncodeContext, EncodeResult } from '../types.ts';
import { DITHER_FILTER, defaultFps, needsDither, videoFilters } from '../video/filters.ts';
import { videoQuality } from '../video/quality.ts';

/** Segment length: Apple's HLS authoring spec recommends 6 s; 4 s starts playback sooner. */
export const HLS_SEGMENT_S = 4;

/** The ladder, by the frame's short side, with each rung's bitrate cap (Apple HLS authoring spec, rounded). */
export const HLS_LADDER = [
  { short: 1080, maxrate: 6_000_000 },
  { short: 720, maxrate: 3_000_000 },
  { short: 480, maxrate: 1_400_000 },
  { short: 360, maxrate: 800_000 },
] as const;

/** The master playlist's name when the job's output names none (an s3:// prefix, or Kiln storage). */
export const DEFAULT_MASTER_PLAYLIST = 'master.m3u8';
/** The one variant of an audio-only stream. */
const AUDIO_RENDITION = 'audio';
/** The options that shape the top rendition; with none of them the ladder follows the source. */
const SIZING = ['width', 'height', 'fit', 'position', 'background'] as const;

export interface Rendition {
  name: string;
  width: number;
  height: number;
  maxrate: number;
}

/** The bitrate cap for a rendition `short` pixels on its short side: its rung's, or the next rung up's. */
function maxrateFor(short: number): number {
  const above = HLS_LADDER.filter((r) => r.short >= short).at(-1);
  return (above ?? HLS_LADDER[0]).maxrate;
}

/**
 * Renditions for a frame: every rung no taller than it, or the frame itself when it is smaller
 * than the lowest rung. With `keepTop` (a size the job asked for) the frame itself is the top
 * rendition, whatever its size, and only the rungs below it follow.
 *
 * @example
 * hlsLadder(1280, 720).map((r) => r.name); // ['720p', '480p', '360p']
 * hlsLadder(1000, 562, { keepTop: true }).map((r) => r.name); // ['562p', '480p', '360p']
 */
export function hlsLadder(width: number, height: number, { keepTop = false }: { keepTop?: boolean } = {}): Rendition[] {
  const short = Math.min(width, height);
  const rungs = HLS_LADDER.filter((r) => (keepTop ? r.short < short : r.short <= short));
  const chosen = keepTop || rungs.length === 0 ? [{ short, maxrate: maxrateFor(short) }, ...rungs] : rungs;
  return chosen.map(({ short: target, maxrate }) => {
    const scale = target / short;
    return {
      name: `${target}p`,
      width: evenDown(Math.round(width * scale)),
      height: evenDown(Math.round(height * scale)),
      maxrate,
    };
  });
}

/** An audio-only input becomes one AAC variant: players list it as `CODECS="mp4a.40.2"`. */
async function encodeAudioOnly(
  ctx: EncodeContext,
  options: AdaptiveVideoOptions,
  trim: Extract<TrimPlan, { ok: true }>,
  dir: string,
  master: string,
): Promise<EncodeResult> {
  const sizing = SIZING.filter((key) => options[key] !== undefined);
  await mkdir(join(dir, AUDIO_RENDITION), { recursive: true });
  // biome-ignore format: ffmpeg arguments read as flag/value pairs
  const outputOptions = [
    '-map', '0:a:0', '-vn', '-sn', '-dn',
    '-c:a', 'aac', '-profile:a', 'aac_low', '-b:a', String(audioBitrate(options.quality)), '-ac', '2', '-ar', '48000',
    '-map_metadata', '-1',
    ...hlsMuxer(dir, master),
    '-var_stream_map', `a:0,name:${AUDIO_RENDITION}`,
  ];
  const ran = await encodeTrimmed(ctx, trim, { output: join(dir, '%v', 'index.m3u8'), outputOptions });
  if (!ran.ok) return ran;
  const notes = sizing.length > 0 ? [`The input has no video, so ${sizing.join(', ')} did not apply; the stream is audio only.`] : [];
  return {
    ok: true,
    path: join(dir, master),
    notes: [...trim.notes, ...notes],
    override: { format: 'hls', type: mimeFor('adaptive_video', 'hls'), bitrate: null },
  };
}

// biome-ignore format: ffmpeg arguments read as flag/value pairs
function hlsMuxer(dir: string, master: string): string[] {
  return [
    '-f', 'hls', '-hls_time', String(HLS_SEGMENT_S), '-hls_playlist_type', 'vod',
    '-hls_flags', 'independent_segments', '-hls_segment_type', 'mpegts',
    '-hls_segment_filename', join(dir, '%v', 'segment_%03d.ts'),
    '-master_pl_name', master,
  ];
}

/**
 * Encodes an HLS ladder into `<workDir>/hls/`; the result path is the master playlist. Sizing
 * options shape the top rendition (never upscaled) and the rungs below it follow; an audio-only
 * input becomes an audio-only stream.
 *
 * @example
 * const result = await encodeAdaptive(ctx, { quality: 'medium' }); // result.path = <workDir>/hls/master.m3u8
 */
export async function encodeAdaptive(ctx: EncodeContext, options: AdaptiveVideoOptions): Promise<EncodeResult> {
  const { info, details } = ctx;
  const master = ctx.outputName ?? DEFAULT_MASTER_PLAYLIST;
  const dir = join(ctx.workDir, 'hls');
  const video = info.kind === 'video' && info.width && info.height ? displaySize(info, details) : null;
  if (!video && !(info.kind === 'audio' && info.has_audio)) {
    return {
      ok: false,
      error: { kind: 'no_video_stream', message: 'The input has no video or audio stream; adaptive_video needs a video or an audio file.' },
    };
  }
  const trim = planTrim(info.duration, options.start, options.end);
  if (!trim.ok) return trim;
  if (!video) return encodeAudioOnly(ctx, options, trim, dir, master);
  const { h264 } = videoQuality(options.quality);
  const audioBps = audioBitrate(options.quality);
  const sized = SIZING.some((key) => options[key] !== undefined);
  const { plan, notes } = planResize(video, options, { even: true });
  const tooBig = outputPixelsError(largestFrame(plan), ctx.limits, 'maxOutputVideoPixels');
  if (tooBig) return { ok: false, error: tooBig };
  const renditions = hlsLadder(plan.width, plan.height, { keepTop: sized });
  const fps = defaultFps(details);
  const gop = Math.max(1, Math.round(rationalValue(fps) * HLS_SEGMENT_S));
  const withAudio = info.has_audio;
  // One decode, resized once to the top frame (BT.709 from here on), then split into the rungs;
  // a deep source stays deep until each rung is dithered to 8 bits at its own size.
  const top = videoFilters({ plan, details, background: options.background, fps, source: video });
  const dither = needsDither(details) ? `${DITHER_FILTER},` : '';
  const graph = [
    `[0:v]${top.join(',')},split=${renditions.length}${renditions.map((_, i) => `[s${i}]`).join('')}`,
    ...renditions.map((r, i) => {
      const same = r.width === plan.width && r.height === plan.height;
      const scale = same ? '' : `scale=${r.width}:${r.height}:flags=lanczos:in_color_matrix=bt709:out_color_matrix=bt709:out_range=tv,`;
      return `[s${i}]${scale}setsar=1,${dither}format=yuv420p[v${i}]`;
    }),
  ].join(';');
  await mkdir(dir, { recursive: true });
  for (const r of renditions) await mkdir(join(dir, r.name), { recursive: true });

  // biome-ignore format: ffmpeg arguments read as flag/value pairs
  const outputOptions = [
    ...renditions.flatMap((_, i) => ['-map', `[v${i}]`, ...(withAudio ? ['-map', '0:a:0'] : [])]),
    '-c:v', 'libx264', '-preset', h264.preset, '-crf', String(h264.crf), '-profile:v', 'high',
    ...renditions.flatMap((r, i) => [`-maxrate:v:${i}`, String(r.maxrate), `-bufsize:v:${i}`, String(r.maxrate * 2)]),
    '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-fps_mode', 'cfr',
    '-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709',
    ...(withAudio ? ['-c:a', 'aac', '-profile:a', 'aac_low', '-b:a', String(audioBps), '-ac', '2', '-ar', '48000'] : []),
    '-map_metadata', '-1',
    ...hlsMuxer(dir, master),
    '-var_stream_map', renditions.map((r, i) => `v:${i}${withAudio ? `,a:${i}` : ''},name:${r.name}`).join(' '),
  ];
  const ran = await encodeTrimmed(ctx, trim, {
    output: join(dir, '%v', 'index.m3u8'),
    complexFilter: graph,
    outputOptions,
  });
  if (!ran.ok) return ran;
  if (renditions.length === 1 && renditions[0]) notes.push(`The source is small; one rendition (${renditions[0].name}).`);
  return {
    ok: true,
    path: join(dir, master),
    notes: [...trim.notes, ...notes],
    // ffprobe reads the master playlist's first variant; its byte count and bitrate describe the playlist file only.
    override: { format: 'hls', type: mimeFor('adaptive_video', 'hls'), bitrate: null },
  };
}
