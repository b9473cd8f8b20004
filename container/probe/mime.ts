/**
 * Maps what ffprobe and sharp call a format to Kiln's short format name and MIME type. Formats
 * Kiln also writes take their MIME type from schemas/formats.ts; only read-only ones are listed here.
 */
import { mimeFor, typeForExtension } from '../../schemas/formats.ts';
import type { SniffedImage } from './sniff.ts';

export interface FormatName {
  format: string;
  type: string;
}

const WEBM_CODECS = new Set(['vp8', 'vp9', 'av1', 'opus', 'vorbis']);

/** Formats Kiln reads but never writes, by the short name it reports (also their usual file extension). */
const INPUT_ONLY_TYPES = {
  heic: 'image/heic',
  tiff: 'image/tiff',
  svg: 'image/svg+xml',
  bmp: 'image/bmp',
  mkv: 'video/x-matroska',
  mka: 'audio/x-matroska',
  ogv: 'video/ogg',
  // Raw ADTS; the `aac` output format is AAC in M4A.
  aac: 'audio/aac',
  avi: 'video/x-msvideo',
  ts: 'video/mp2t',
  flv: 'video/x-flv',
  wmv: 'video/x-ms-asf',
  mpeg: 'video/mpeg',
} as const;

function inputOnly(format: keyof typeof INPUT_ONLY_TYPES): FormatName {
  return { format, type: INPUT_ONLY_TYPES[format] };
}

const IMAGE_TYPES: Record<SniffedImage, string> = {
  jpeg: mimeFor('image', 'jpeg'),
  png: mimeFor('image', 'png'),
  gif: mimeFor('animation', 'gif'),
  webp: mimeFor('image', 'webp'),
  avif: mimeFor('image', 'avif'),
  heic: INPUT_ONLY_TYPES.heic,
  tiff: INPUT_ONLY_TYPES.tiff,
  svg: INPUT_ONLY_TYPES.svg,
  bmp: INPUT_ONLY_TYPES.bmp,
};

/** ffprobe demuxers that name exactly one format, by their `format_name`. */
const SINGLE_FORMAT_DEMUXERS: Record<string, FormatName> = {
  mp3: { format: 'mp3', type: mimeFor('audio', 'mp3') },
  ogg: { format: 'ogg', type: mimeFor('audio', 'ogg') },
  flac: { format: 'flac', type: mimeFor('audio', 'flac') },
  wav: { format: 'wav', type: mimeFor('audio', 'wav') },
  aac: inputOnly('aac'),
  avi: inputOnly('avi'),
  mpegts: inputOnly('ts'),
  flv: inputOnly('flv'),
  gif: { format: 'gif', type: mimeFor('animation', 'gif') },
  asf: inputOnly('wmv'),
  mpeg: inputOnly('mpeg'),
};

/**
 * The ffprobe demuxers an input may be read with (matched against any of a demuxer's names, so
 * `mov` covers mp4/m4a/3gp and `matroska` covers webm). Each reads one self-contained file.
 * Demuxers that follow a file to other files are left out on purpose: HLS and DASH (playlists
 * and manifests), concat (file lists), image2 (file-name patterns), IMF; so is `svg_pipe`, since
 * SVG goes through Kiln's own SVG rules (container/image/source.ts), never ffmpeg's renderer.
 * Still images are sniffed and read by sharp first; their pipe demuxers are here for files the
 * sniff does not place.
 */
export const INPUT_DEMUXERS: readonly string[] = [
  ...['mov', 'matroska', 'avi', 'flv', 'mpegts', 'mpeg', 'asf', 'mxf', 'dv'],
  ...['mp3', 'aac', 'ac3', 'eac3', 'wav', 'w64', 'flac', 'ogg', 'aiff', 'caf', 'amr'],
  ...['gif', 'png_pipe', 'jpeg_pipe', 'webp_pipe', 'bmp_pipe', 'tiff_pipe'],
];

/** Refused demuxers that follow a file to other files, by what a user would call such a file. */
const POINTER_FORMATS: Record<string, string> = {
  hls: 'an HLS playlist',
  dash: 'a DASH manifest',
  webm_dash_manifest: 'a WebM DASH manifest',
  concat: 'an ffconcat file list',
  imf: 'an IMF composition',
};

/**
 * What to tell a user whose input ffprobe recognised as a format Kiln does not read.
 *
 * @example
 * refusedFormatMessage('hls'); // 'The input is an HLS playlist (format "hls"), not a media file: …'
 */
export function refusedFormatMessage(format: string): string {
  const pointer = POINTER_FORMATS[format];
  if (pointer) {
    return `The input is ${pointer} (format "${format}"), not a media file: Kiln reads single video, audio and image files, never playlists, manifests or lists that point at other files. Send the media file itself.`;
  }
  return `The input's format ("${format}") is not one Kiln reads: send a single video, audio or image file (MP4, MOV, WebM, MKV, MP3, WAV, JPEG, PNG…).`;
}

/**
 * MIME type of a file extension (without the dot, lower case), whether Kiln reads or writes it.
 *
 * @example
 * typeOfExtension('mkv'); // 'video/x-matroska'
 */
export function typeOfExtension(extension: string): string | undefined {
  return (INPUT_ONLY_TYPES as Record<string, string>)[extension] ?? typeForExtension(extension);
}

/**
 * Short name and MIME type of a still image format.
 *
 * @example
 * imageFormat('jpeg'); // { format: 'jpeg', type: 'image/jpeg' }
 */
export function imageFormat(format: SniffedImage): FormatName {
  return { format, type: IMAGE_TYPES[format] };
}

/**
 * Short name and MIME type of a container ffprobe recognised. `format_name` lists aliases
 * ("mov,mp4,m4a,3gp,3g2,mj2"), so the brand and the codecs decide between them.
 *
 * @example
 * containerFormat('mov,mp4,m4a,3gp,3g2,mj2', 'qt  ', { video: 'h264' }); // { format: 'mov', type: 'video/quicktime' }
 */
export function containerFormat(
  formatName: string,
  majorBrand: string | undefined,
  codecs: { video?: string; audio?: string },
): FormatName {
  const hasVideo = codecs.video !== undefined;
  const names = formatName.split(',');
  if (names.includes('mp4') || names.includes('mov')) {
    const brand = (majorBrand ?? '').trim();
    if (brand === 'qt') return { format: 'mov', type: mimeFor('video', 'mov') };
    if (!hasVideo) return { format: 'm4a', type: mimeFor('audio', 'aac') };
    return { format: 'mp4', type: mimeFor('video', 'mp4') };
  }
  if (names.includes('webm') || names.includes('matroska')) {
    const webm = [codecs.video, codecs.audio].every((c) => c === undefined || WEBM_CODECS.has(c));
    if (!webm) return inputOnly(hasVideo ? 'mkv' : 'mka');
    return hasVideo ? { format: 'webm', type: mimeFor('video', 'webm') } : { format: 'webm', type: 'audio/webm' };
  }
  // Only Kiln's own HLS output is probed as a playlist (container/process/index.ts); inputs never are.
  if (names.includes('hls')) return { format: 'hls', type: mimeFor('adaptive_video', 'hls') };
  const first = names[0] ?? 'unknown';
  const found = SINGLE_FORMAT_DEMUXERS[first];
  if (found) {
    if (first === 'ogg' && hasVideo) return inputOnly('ogv');
    return found;
  }
  return { format: first, type: hasVideo ? 'video/octet-stream' : 'audio/octet-stream' };
}
