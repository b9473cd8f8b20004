/** Maps what ffprobe and sharp call a format to Kiln's short format name and MIME type. */

export interface FormatName {
  format: string;
  type: string;
}

const WEBM_CODECS = new Set(['vp8', 'vp9', 'av1', 'opus', 'vorbis']);

const IMAGE_TYPES: Record<string, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  heic: 'image/heic',
  tiff: 'image/tiff',
  svg: 'image/svg+xml',
  bmp: 'image/bmp',
};

/**
 * Short name and MIME type of a still image format.
 *
 * @example
 * imageFormat('jpeg'); // { format: 'jpeg', type: 'image/jpeg' }
 */
export function imageFormat(format: string): FormatName {
  return { format, type: IMAGE_TYPES[format] ?? `image/${format}` };
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
    if (brand === 'qt') return { format: 'mov', type: 'video/quicktime' };
    if (!hasVideo) return { format: 'm4a', type: 'audio/mp4' };
    return { format: 'mp4', type: 'video/mp4' };
  }
  if (names.includes('webm') || names.includes('matroska')) {
    const webm = [codecs.video, codecs.audio].every((c) => c === undefined || WEBM_CODECS.has(c));
    if (!webm) return hasVideo ? { format: 'mkv', type: 'video/x-matroska' } : { format: 'mka', type: 'audio/x-matroska' };
    return hasVideo ? { format: 'webm', type: 'video/webm' } : { format: 'webm', type: 'audio/webm' };
  }
  if (names.includes('hls') || names.includes('applehttp')) return { format: 'hls', type: 'application/vnd.apple.mpegurl' };
  const first = names[0] ?? 'unknown';
  const known: Record<string, FormatName> = {
    mp3: { format: 'mp3', type: 'audio/mpeg' },
    ogg: { format: 'ogg', type: 'audio/ogg' },
    flac: { format: 'flac', type: 'audio/flac' },
    wav: { format: 'wav', type: 'audio/wav' },
    aac: { format: 'aac', type: 'audio/aac' },
    avi: { format: 'avi', type: 'video/x-msvideo' },
    mpegts: { format: 'ts', type: 'video/mp2t' },
    flv: { format: 'flv', type: 'video/x-flv' },
    gif: { format: 'gif', type: 'image/gif' },
    asf: { format: 'wmv', type: 'video/x-ms-asf' },
    mpeg: { format: 'mpeg', type: 'video/mpeg' },
  };
  const found = known[first];
  if (found) {
    if (first === 'ogg' && hasVideo) return { format: 'ogv', type: 'video/ogg' };
    return found;
  }
  return { format: first, type: hasVideo ? 'video/octet-stream' : 'audio/octet-stream' };
}
