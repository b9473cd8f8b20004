/**
 * Adaptive video: an HLS ladder (H.264 + AAC in MPEG-TS segments) no taller than the source,
 * with a master playlist that hls.js and Safari play (docs/api.md#adaptive_video). One ffmpeg run decodes once and
 * encodes every rendition with aligned keyframes so players can switch at segment boundaries.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { mimeFor } from '../../schemas/formats.ts';
import type { AdaptiveVideoOptions } from '../../schemas/options.ts';
import { audioBitrate } from '../audio/quality.ts';
import { encodeTrimmed } from '../ffmpeg/encode.ts';
import { outputPixelsError } from '../limits.ts';
import { rationalValue } from '../probe/index.ts';
import { evenDown } from '../resize/index.ts';
import { planTrim } from '../trim/index.ts';
import type { EncodeContext, EncodeResult } from '../types.ts';
import { defaultFps, isHdr, toneMapFilters } from '../video/filters.ts';
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

export interface Rendition {
  name: string;
  width: number;
  height: number;
  maxrate: number;
}

/**
 * Renditions for a source: every rung no taller than the source, or the source itself when it
 * is smaller than the lowest rung.
 *
 * @example
 * hlsLadder(1280, 720).map((r) => r.name); // ['720p', '480p', '360p']
 */
export function hlsLadder(width: number, height: number): Rendition[] {
  const short = Math.min(width, height);
  const rungs = HLS_LADDER.filter((r) => r.short <= short);
  const chosen = rungs.length > 0 ? rungs : [{ short, maxrate: HLS_LADDER.at(-1)!.maxrate }];
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

/**
 * Encodes an HLS ladder into `<workDir>/hls/`; the result path is the master playlist.
 *
 * @example
 * const result = await encodeAdaptive(ctx, { quality: 'medium' }); // result.path = <workDir>/hls/master.m3u8
 */
export async function encodeAdaptive(ctx: EncodeContext, options: AdaptiveVideoOptions): Promise<EncodeResult> {
  const { info, details } = ctx;
  if (info.kind !== 'video' || !info.width || !info.height) {
    return { ok: false, error: { kind: 'no_video_stream', message: 'The input has no video stream; adaptive_video needs a video.' } };
  }
  const trim = planTrim(info.duration, options.start, options.end);
  if (!trim.ok) return trim;
  const { h264 } = videoQuality(options.quality);
  const audioBps = audioBitrate(options.quality);
  const renditions = hlsLadder(info.width, info.height);
  // The top rung is the largest; it is never larger than the input, but the output limit may be lower.
  const tooBig = renditions[0] ? outputPixelsError(renditions[0], ctx.limits, 'maxOutputVideoPixels') : null;
  if (tooBig) return { ok: false, error: tooBig };
  const fps = defaultFps(details);
  const gop = Math.max(1, Math.round(rationalValue(fps) * HLS_SEGMENT_S));
  const withAudio = info.has_audio;
  const pre = [...(isHdr(details) ? toneMapFilters(details) : []), `fps=${fps}`, `split=${renditions.length}`];
  const graph = [
    `[0:v]${pre.join(',')}${renditions.map((_, i) => `[s${i}]`).join('')}`,
    ...renditions.map(
      (r, i) => `[s${i}]scale=${r.width}:${r.height}:flags=lanczos:out_color_matrix=bt709:out_range=tv,setsar=1,format=yuv420p[v${i}]`,
    ),
  ].join(';');
  const dir = join(ctx.workDir, 'hls');
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
    '-f', 'hls', '-hls_time', String(HLS_SEGMENT_S), '-hls_playlist_type', 'vod',
    '-hls_flags', 'independent_segments', '-hls_segment_type', 'mpegts',
    '-hls_segment_filename', join(dir, '%v', 'segment_%03d.ts'),
    '-master_pl_name', 'master.m3u8',
    '-var_stream_map', renditions.map((r, i) => `v:${i}${withAudio ? `,a:${i}` : ''},name:${r.name}`).join(' '),
  ];
  const ran = await encodeTrimmed(ctx, trim, {
    output: join(dir, '%v', 'index.m3u8'),
    complexFilter: graph,
    outputOptions,
  });
  if (!ran.ok) return ran;
  const notes = renditions.length === 1 && renditions[0] ? [`The source is small; one rendition (${renditions[0].name}).`] : [];
  return {
    ok: true,
    path: join(dir, 'master.m3u8'),
    notes: [...trim.notes, ...notes],
    // ffprobe reads the master playlist's first variant; its byte count and bitrate describe the playlist file only.
    override: { format: 'hls', type: mimeFor('adaptive_video', 'hls'), bitrate: null },
  };
}
