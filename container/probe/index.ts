/**
 * Probe: what is this file, and is it safe to process? Reads headers only (sharp metadata,
 * ffprobe) and refuses empty, truncated, oversized, overlong and decompression-bomb inputs
 * before any decoder touches the pixels.
 */
import { open, readFile, stat } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import { cancelledError, type ErrorBody, svgEntityError } from '../../schemas/errors.ts';
import type { HdrTransfer, MediaInfo } from '../../schemas/file.ts';
import { type FfprobeOutput, type FfprobeStream, ffprobeJson } from '../ffmpeg/index.ts';
import type { Limits } from '../limits.ts';
import { containerFormat, INPUT_DEMUXERS, imageFormat, refusedFormatMessage } from './mime.ts';
import { fromSvgRoot, isoTruncated, SNIFF_BYTES, type SniffedImage, sniffImage } from './sniff.ts';

/** What the encoders need beyond the public MediaInfo. */
export interface ProbeDetails {
  video?: {
    codec: string;
    pixFmt: string | null;
    /** Colour transfer, e.g. `smpte2084` (PQ) or `arib-std-b67` (HLG) for HDR. */
    transfer: string | null;
    primaries: string | null;
    matrix: string | null;
    /** Average frame rate as ffmpeg's rational string, e.g. `30000/1001`. */
    rate: string | null;
    codedWidth: number;
    codedHeight: number;
    /** Sample (pixel) aspect ratio, width over height: 64/45 for 16:9 PAL, 1 for square pixels or when untagged. */
    sar: number;
    /** True when the stream's field order says its frames are two interlaced fields. */
    interlaced: boolean;
  };
  audio?: { codec: string; channels: number; sampleRate: number };
  image?: { format: SniffedImage; pages: number; hasAlpha: boolean };
  /** Start time of the last frame, for clamping a requested frame time. */
  lastFrameS: number | null;
}

export type ProbeResult = { ok: true; info: MediaInfo; details: ProbeDetails } | { ok: false; error: ErrorBody };

const notMedia = (message: string): ProbeResult => ({ ok: false, error: { kind: 'input_not_media', message } });

/**
 * 64 MiB: an SVG is read whole (to reach its root element) and librsvg builds a DOM of all of it,
 * several times its size in memory; web SVGs are kilobytes, large maps a few MiB.
 */
export const MAX_SVG_BYTES = 64 * 1024 ** 2;

/** ffprobe's names of the HDR transfer characteristics, which need tone mapping for SDR web delivery. */
const HDR_TRANSFER_NAMES = new Map<string, HdrTransfer>([
  ['smpte2084', 'pq'],
  ['arib-std-b67', 'hlg'],
]);
export const HDR_TRANSFERS = new Set(HDR_TRANSFER_NAMES.keys());

/**
 * Probes a local file. Expected failures (not media, too big, too long, too many pixels, a
 * playlist or any format outside `formats`) are returned as `{ ok: false, error }` with a
 * message the user can act on. `formats` are ffprobe demuxer names; only Kiln's own outputs are
 * probed with more than {@link INPUT_DEMUXERS}.
 *
 * @example
 * const probe = await probeFile('/tmp/in.mov', limitsFromEnv(process.env));
 * if (probe.ok) console.log(probe.info.width, probe.info.height, probe.info.duration);
 */
export async function probeFile(
  path: string,
  limits: Limits,
  signal?: AbortSignal,
  formats: readonly string[] = INPUT_DEMUXERS,
): Promise<ProbeResult> {
  let size: number;
  try {
    const stats = await stat(path);
    if (!stats.isFile()) return notMedia('The input is not a file.');
    size = stats.size;
  } catch {
    return notMedia('The input file could not be read.');
  }
  if (size === 0) return notMedia('The input is empty (0 bytes). Check the upload or the URL.');
  if (size > limits.maxInputBytes) {
    return {
      ok: false,
      error: {
        kind: 'input_too_large',
        message: `The input is ${formatBytes(size)}; the limit is ${formatBytes(limits.maxInputBytes)}.`,
      },
    };
  }
  const handle = await open(path, 'r');
  let head: Buffer;
  let truncated = false;
  try {
    const buffer = Buffer.alloc(Math.min(SNIFF_BYTES, size));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    head = buffer.subarray(0, bytesRead);
    if (head.subarray(4, 8).toString('latin1') === 'ftyp') truncated = await isoTruncated(handle, size);
  } finally {
    await handle.close();
  }
  const image = sniffImage(head);
  if (truncated && image !== 'heic' && image !== 'avif') {
    return notMedia('The file is truncated: it ends before its own headers say it should. Re-upload the complete file.');
  }
  if (image === 'svg') {
    if (size > MAX_SVG_BYTES) {
      return {
        ok: false,
        error: { kind: 'input_too_large', message: `The SVG is ${formatBytes(size)}; the limit for SVG is ${formatBytes(MAX_SVG_BYTES)}.` },
      };
    }
    const svg = await readFile(path);
    // Entity declarations are how SVG/XML bombs and XXE file reads start; no legitimate web SVG needs them.
    if (/<!ENTITY/i.test(head.toString('utf8')) || svg.includes('<!ENTITY')) return { ok: false, error: svgEntityError() };
    return probeImage(fromSvgRoot(svg), image, size, limits);
  }
  if (image) return probeImage(path, image, size, limits);
  const probe = await ffprobeJson(path, { signal, formats });
  if (!probe.ok) {
    if (probe.error.reason === 'aborted') return { ok: false, error: cancelledError() };
    if (probe.error.refusedFormat) return notMedia(refusedFormatMessage(probe.error.refusedFormat));
    return notMedia('The input is not a video, audio or image file Kiln can read.');
  }
  return describeAv(probe.data, size, limits);
}

async function probeImage(input: string | Buffer, format: SniffedImage, size: number, limits: Limits): Promise<ProbeResult> {
  let meta: Metadata;
  try {
    // Header only: no pixels are decoded, so an unlimited pixel count is safe here and lets us
    // report the real dimensions of a decompression bomb.
    meta = await sharp(input, { limitInputPixels: false, failOn: 'error' }).metadata();
  } catch {
    return notMedia(`The input looks like a ${format.toUpperCase()} image but its header could not be read; it may be corrupt.`);
  }
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (!width || !height) return notMedia('The image has no dimensions.');
  const pageHeight = meta.pageHeight ?? meta.height;
  if (meta.width * pageHeight > limits.maxImagePixels) {
    return {
      ok: false,
      error: {
        kind: 'too_many_pixels',
        message: `The image is ${meta.width}×${pageHeight} (${megapixels(meta.width * pageHeight)} MP); the limit is ${megapixels(limits.maxImagePixels)} MP.`,
      },
    };
  }
  const pages = meta.pages ?? 1;
  const animated = pages > 1 && (format === 'gif' || format === 'webp');
  const duration = animated && meta.delay ? meta.delay.reduce((a, b) => a + b, 0) / 1000 : null;
  const { format: name, type } = imageFormat(format);
  return {
    ok: true,
    info: {
      kind: 'image',
      format: name,
      type,
      width,
      height: animated ? pageHeight : height,
      duration,
      fps: animated && duration ? round(pages / duration, 3) : null,
      bitrate: null,
      filesize: size,
      codecs: meta.compression ? { video: meta.compression } : {},
      has_audio: false,
      rotation: orientationDegrees(meta.orientation),
      hdr: null,
    },
    details: { image: { format, pages, hasAlpha: meta.hasAlpha }, lastFrameS: null },
  };
}

function describeAv(data: FfprobeOutput, size: number, limits: Limits): ProbeResult {
  const streams = data.streams ?? [];
  const format = data.format ?? {};
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic && s.width && s.height);
  const audio = streams.find((s) => s.codec_type === 'audio' && s.codec_name);
  const formatName = format.format_name ?? '';
  if (!video && !audio) {
    return notMedia('The input is not a video, audio or image file Kiln can read.');
  }
  const duration = numberOrNull(format.duration) ?? numberOrNull(video?.duration) ?? numberOrNull(audio?.duration);
  if (duration !== null && duration > limits.maxDurationS) {
    return {
      ok: false,
      error: {
        kind: 'input_too_long',
        message: `The input is ${formatSeconds(duration)} long; the limit is ${formatSeconds(limits.maxDurationS)}. Trim it with start and end.`,
      },
    };
  }
  const rotation = video ? streamRotation(video) : 0;
  const swap = rotation === 90 || rotation === 270;
  const codedWidth = video?.width ?? 0;
  const codedHeight = video?.height ?? 0;
  if (video && codedWidth * codedHeight > limits.maxVideoPixels) {
    return {
      ok: false,
      error: {
        kind: 'too_many_pixels',
        message: `The video frame is ${codedWidth}×${codedHeight}; the limit is ${megapixels(limits.maxVideoPixels)} MP per frame.`,
      },
    };
  }
  // Non-square pixels are stretched to square ones before anything else (displaySize): a wide
  // sample aspect ratio makes every frame up to ten times larger than stored, so that size is the one to bound.
  const sar = video ? sampleAspectRatio(video.sample_aspect_ratio) : 1;
  if (video && sar > 1 && Math.round(codedWidth * sar) * codedHeight > limits.maxVideoPixels) {
    const shown = `${Math.round(codedWidth * sar)}×${codedHeight}`;
    return {
      ok: false,
      error: {
        kind: 'too_many_pixels',
        message: `The video frame is ${codedWidth}×${codedHeight} stored with a sample aspect ratio of ${video.sample_aspect_ratio}, shown at ${shown}; the limit is ${megapixels(limits.maxVideoPixels)} MP per frame.`,
      },
    };
  }
  const rate = video ? frameRate(video) : null;
  const fps = rate ? round(rationalValue(rate), 3) : null;
  const codecs: MediaInfo['codecs'] = {};
  if (video?.codec_name) codecs.video = video.codec_name;
  if (audio?.codec_name) codecs.audio = audio.codec_name;
  const { format: name, type } = containerFormat(formatName, format.tags?.major_brand, codecs);
  const details: ProbeDetails = {
    // Floored to the millisecond so seeking to it lands on (not after) the last frame.
    lastFrameS: duration !== null && fps ? Math.max(0, Math.floor((duration - 1 / fps) * 1000) / 1000) : duration,
  };
  if (video) {
    details.video = {
      codec: video.codec_name ?? 'unknown',
      pixFmt: video.pix_fmt ?? null,
      transfer: known(video.color_transfer),
      primaries: known(video.color_primaries),
      matrix: known(video.color_space),
      rate,
      codedWidth,
      codedHeight,
      sar,
      interlaced: INTERLACED_FIELD_ORDERS.has(video.field_order ?? ''),
    };
  }
  if (audio) {
    details.audio = {
      codec: audio.codec_name ?? 'unknown',
      channels: audio.channels ?? 2,
      sampleRate: Number(audio.sample_rate ?? 48000),
    };
  }
  return {
    ok: true,
    info: {
      kind: video ? 'video' : 'audio',
      format: name,
      type,
      width: video ? (swap ? codedHeight : codedWidth) : null,
      height: video ? (swap ? codedWidth : codedHeight) : null,
      duration: duration === null ? null : round(duration, 3),
      fps,
      bitrate: numberOrNull(format.bit_rate) === null ? null : Math.round(Number(format.bit_rate)),
      filesize: size,
      codecs,
      has_audio: Boolean(audio),
      rotation,
      hdr: HDR_TRANSFER_NAMES.get(video?.color_transfer ?? '') ?? null,
    },
    details,
  };
}

/** ffprobe field orders of interlaced video (top or bottom field first, coded and displayed). */
const INTERLACED_FIELD_ORDERS = new Set(['tt', 'bb', 'tb', 'bt']);

/** `64:45` → 64/45; unknown (`0:1`, absent) or absurd values count as square pixels. */
function sampleAspectRatio(sar: string | undefined): number {
  const value = rationalValue(sar?.replace(':', '/') ?? '1');
  return value > 0.1 && value < 10 ? value : 1;
}

/**
 * The size a player shows a picture at: rotation applied (as in MediaInfo) and non-square pixels
 * stretched to square ones along the stored width, the way players and ffmpeg's `scale=iw*sar:ih`
 * do. Every output is planned from this size, so "never upscale" compares against it.
 *
 * @example
 * displaySize(probe.info, probe.details); // a 16:9 PAL file stored 720×576: { width: 1024, height: 576 }
 */
export function displaySize(
  info: Pick<MediaInfo, 'width' | 'height' | 'rotation'>,
  details: ProbeDetails,
): { width: number; height: number } {
  const width = info.width ?? 1;
  const height = info.height ?? 1;
  const sar = details.video?.sar ?? 1;
  if (sar === 1) return { width, height };
  // The stored width is the one the pixels stretch along; a 90° rotation shows it as the height.
  const sideways = info.rotation === 90 || info.rotation === 270;
  return sideways ? { width, height: Math.round(height * sar) } : { width: Math.round(width * sar), height };
}

/**
 * Clockwise rotation a player applies, from the display matrix (ffprobe reports it
 * counter-clockwise) or the legacy `rotate` tag (clockwise).
 */
function streamRotation(stream: FfprobeStream): number {
  const matrix = stream.side_data_list?.find((d) => typeof d.rotation === 'number');
  if (matrix?.rotation !== undefined) return normaliseDegrees(-matrix.rotation);
  const tag = stream.tags?.rotate;
  return tag ? normaliseDegrees(Number(tag)) : 0;
}

function normaliseDegrees(deg: number): number {
  if (!Number.isFinite(deg)) return 0;
  return (((Math.round(deg / 90) * 90) % 360) + 360) % 360;
}

/** EXIF orientation 1–8 → the rotation part in clockwise degrees (mirroring is not a rotation). */
function orientationDegrees(orientation: number | undefined): number {
  switch (orientation) {
    case 3:
    case 4:
      return 180;
    case 5:
    case 6:
      return 90;
    case 7:
    case 8:
      return 270;
    default:
      return 0;
  }
}

function frameRate(stream: FfprobeStream): string | null {
  for (const r of [stream.avg_frame_rate, stream.r_frame_rate]) {
    if (r && rationalValue(r) > 0 && rationalValue(r) < 1000) return r;
  }
  return null;
}

/** Value of an ffmpeg rational such as `30000/1001`. */
export function rationalValue(rational: string): number {
  const [num, den] = rational.split('/').map(Number);
  if (num === undefined || !Number.isFinite(num)) return 0;
  if (den === undefined) return num;
  return den === 0 ? 0 : num / den;
}

function known(value: string | undefined): string | null {
  return value && value !== 'unknown' && value !== 'reserved' ? value : null;
}

function numberOrNull(value: string | undefined): number | null {
  if (value === undefined || value === 'N/A') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function megapixels(pixels: number): string {
  return (pixels / 1e6).toFixed(1).replace(/\.0$/, '');
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1).replace(/\.0$/, '')} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1).replace(/\.0$/, '')} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1).replace(/\.0$/, '')} KiB`;
  return `${bytes} bytes`;
}

function formatSeconds(seconds: number): string {
  if (seconds >= 3600) return `${(seconds / 3600).toFixed(1).replace(/\.0$/, '')} h`;
  if (seconds >= 60) return `${(seconds / 60).toFixed(1).replace(/\.0$/, '')} min`;
  return `${round(seconds, 2)} s`;
}
