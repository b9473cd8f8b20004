/**
 * Output formats (docs/api.md#options): for each job kind, the formats it can write with their file extension
 * and MIME type, and the default. The Worker names output keys from it, the processor names and
 * labels its outputs, the CLI infers `--format` from `-o`, and `schemas/options.ts` builds the
 * `format` enums from it. What Kiln only reads (HEIC, MKV, AVI…) lives with the probe instead.
 */
import type { JobKind } from './options.ts';

interface FormatFacts {
  /** File extension of the output, without the dot. */
  extension: string;
  /** MIME type the output is stored and reported with. */
  type: string;
  /** Other extensions that name this format on an output path, e.g. `-o clip.m4v`. */
  aliases?: readonly string[];
  /** Other names the `format` option accepts for it (Ittybit's guides write `format: "jpg"`). */
  names?: readonly string[];
  /** The output is a folder of files (a playlist and its segments), not one file. */
  folder?: true;
}

const OUTPUT_FORMATS = {
  video: {
    mp4: { extension: 'mp4', type: 'video/mp4', aliases: ['m4v'] },
    webm: { extension: 'webm', type: 'video/webm' },
    mov: { extension: 'mov', type: 'video/quicktime' },
  },
  image: {
    jpeg: { extension: 'jpg', type: 'image/jpeg', aliases: ['jpeg'], names: ['jpg'] },
    png: { extension: 'png', type: 'image/png' },
    webp: { extension: 'webp', type: 'image/webp' },
    avif: { extension: 'avif', type: 'image/avif' },
  },
  audio: {
    mp3: { extension: 'mp3', type: 'audio/mpeg' },
    // AAC is written in an MP4 (M4A) container, so players get its duration and can seek.
    aac: { extension: 'm4a', type: 'audio/mp4', aliases: ['aac'] },
    ogg: { extension: 'ogg', type: 'audio/ogg', aliases: ['oga'] },
    // Opus in Ogg (RFC 7845): the container's MIME type, with the codec's own extension.
    opus: { extension: 'opus', type: 'audio/ogg' },
    wav: { extension: 'wav', type: 'audio/wav' },
    flac: { extension: 'flac', type: 'audio/flac' },
  },
  animation: {
    gif: { extension: 'gif', type: 'image/gif' },
    webp: { extension: 'webp', type: 'image/webp' },
  },
  adaptive_video: {
    hls: { extension: 'm3u8', type: 'application/vnd.apple.mpegurl', folder: true },
  },
} as const satisfies Record<JobKind, Record<string, FormatFacts>>;

/** The formats a kind can write, e.g. `'mp4' | 'webm' | 'mov'` for video. */
export type OutputFormat<K extends JobKind> = keyof (typeof OUTPUT_FORMATS)[K] & string;

/** Image has no fixed default: the processor keeps a web-safe input format (container/image). */
const DEFAULT_FORMATS = {
  video: 'mp4',
  image: null,
  audio: 'mp3',
  animation: 'gif',
  adaptive_video: 'hls',
} as const satisfies { [K in JobKind]: OutputFormat<K> | null };

/** MIME types of the files inside a folder output: HLS playlists and their MPEG-TS segments. */
const FOLDER_FILE_TYPES: Record<string, string> = {
  m3u8: OUTPUT_FORMATS.adaptive_video.hls.type,
  ts: 'video/mp2t',
};

function facts(kind: JobKind, format: string): FormatFacts {
  const found = (OUTPUT_FORMATS[kind] as Record<string, FormatFacts>)[format];
  // Formats are validated against formatNames(kind) before anything asks about them.
  if (!found) throw new Error(`No output format ${format} for kind ${kind}`);
  return found;
}

/**
 * The formats a kind can write, for `z.enum`.
 *
 * @example
 * formatNames('animation'); // ['gif', 'webp']
 */
export function formatNames<K extends JobKind>(kind: K): [OutputFormat<K>, ...OutputFormat<K>[]] {
  return Object.keys(OUTPUT_FORMATS[kind]) as [OutputFormat<K>, ...OutputFormat<K>[]];
}

/**
 * Every value the `format` option accepts for a kind: the formats, then their other names.
 *
 * @example
 * formatOptionNames('image'); // ['jpeg', 'png', 'webp', 'avif', 'jpg']
 */
export function formatOptionNames(kind: JobKind): [string, ...string[]] {
  const formats = Object.values(OUTPUT_FORMATS[kind]) as FormatFacts[];
  return [...formatNames(kind), ...formats.flatMap((f) => f.names ?? [])];
}

/**
 * The format a value of the `format` option names, or undefined for none of `formatOptionNames(kind)`.
 *
 * @example
 * formatNamed('image', 'jpg'); // 'jpeg'
 */
export function formatNamed<K extends JobKind>(kind: K, name: string): OutputFormat<K> | undefined {
  const entries = Object.entries(OUTPUT_FORMATS[kind]) as [OutputFormat<K>, FormatFacts][];
  return entries.find(([format, f]) => format === name || f.names?.includes(name))?.[0];
}

/**
 * The format a job gets when it names none; null when the input decides (image).
 *
 * @example
 * defaultFormat('audio'); // 'mp3'
 */
export function defaultFormat<K extends JobKind>(kind: K): (typeof DEFAULT_FORMATS)[K] {
  return DEFAULT_FORMATS[kind];
}

/**
 * File extension (without the dot) of an output format.
 *
 * @example
 * extensionFor('audio', 'aac'); // 'm4a'
 */
export function extensionFor(kind: JobKind, format: string): string {
  return facts(kind, format).extension;
}

/**
 * MIME type of an output format.
 *
 * @example
 * mimeFor('video', 'mov'); // 'video/quicktime'
 */
export function mimeFor(kind: JobKind, format: string): string {
  return facts(kind, format).type;
}

/**
 * Whether an output format is a folder of files (written under a prefix) rather than one file.
 *
 * @example
 * isFolderFormat('adaptive_video', 'hls'); // true
 */
export function isFolderFormat(kind: JobKind, format: string): boolean {
  return facts(kind, format).folder === true;
}

/**
 * Whether a job of `kind` writes a folder with `format`, or with the kind's default when it names none.
 *
 * @example
 * writesFolder('adaptive_video'); // true
 * writesFolder('image', 'webp'); // false
 */
export function writesFolder(kind: JobKind, format?: string | null): boolean {
  const chosen = format ?? defaultFormat(kind);
  return chosen !== null && isFolderFormat(kind, chosen);
}

/** File extension of the playlist that names a folder output's other files (HLS's master playlist). */
export const PLAYLIST_EXTENSION = OUTPUT_FORMATS.adaptive_video.hls.extension;

/**
 * Whether a file path or s3:// key names an HLS playlist, in any letter case.
 *
 * @example isPlaylistPath('s3://cdn/lecture/Stream.M3U8'); // true
 */
export function isPlaylistPath(path: string): boolean {
  return path.toLowerCase().endsWith(`.${PLAYLIST_EXTENSION}`);
}

/**
 * The format an output file extension (without the dot, lower case) names for a kind.
 *
 * @example
 * formatForExtension('video', 'm4v'); // 'mp4'
 */
export function formatForExtension<K extends JobKind>(kind: K, extension: string): OutputFormat<K> | undefined {
  const entries = Object.entries(OUTPUT_FORMATS[kind]) as [OutputFormat<K>, FormatFacts][];
  return entries.find(([, f]) => f.extension === extension || f.aliases?.includes(extension))?.[0];
}

/**
 * MIME type of a file extension (without the dot, lower case) any output format uses.
 *
 * @example
 * typeForExtension('m4a'); // 'audio/mp4'
 */
export function typeForExtension(extension: string): string | undefined {
  const all = Object.values(OUTPUT_FORMATS).flatMap((formats) => Object.values(formats) as FormatFacts[]);
  return all.find((f) => f.extension === extension || f.aliases?.includes(extension))?.type;
}

/**
 * MIME type of a file inside a folder output, by its extension (without the dot).
 *
 * @example
 * folderFileType('ts'); // 'video/mp2t'
 */
export function folderFileType(extension: string): string | undefined {
  return FOLDER_FILE_TYPES[extension];
}

/**
 * The Content-Type a file of a folder output is stored with, by its name: the Worker signs its
 * upload URL with it and the processor must send exactly it.
 *
 * @example
 * folderFileTypeOf('720p/seg_001.ts'); // 'video/mp2t'
 */
export function folderFileTypeOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return (dot > name.lastIndexOf('/') && folderFileType(name.slice(dot + 1))) || 'application/octet-stream';
}
