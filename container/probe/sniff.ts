/**
 * Cheap checks on a file's first bytes, done before any decoder sees it: which image format it
 * claims to be, and whether an ISO-BMFF (mp4/mov/heic) file is cut short.
 */
import type { FileHandle } from 'node:fs/promises';

export type SniffedImage = 'jpeg' | 'png' | 'gif' | 'webp' | 'heic' | 'avif' | 'tiff' | 'svg' | 'bmp';

/**
 * Bytes read from the start of every input for sniffing: 64 KiB, so an SVG cannot slip past the
 * SVG rules behind a few KiB of comments, whitespace or doctype. One that pads further is not
 * placed as SVG and is refused at probe (ffprobe's svg_pipe is not an accepted demuxer).
 */
export const SNIFF_BYTES = 64 * 1024;

const HEIC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1']);
const AVIF_BRANDS = new Set(['avif', 'avis']);

/**
 * Names the still-image format a header belongs to, or null for anything else (video, audio,
 * junk). ISO-BMFF images are told apart from mp4 by their ftyp brands.
 *
 * @example
 * sniffImage(Buffer.from([0xff, 0xd8, 0xff, 0xe0])); // 'jpeg'
 */
export function sniffImage(head: Buffer): SniffedImage | null {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  const ascii = head.subarray(0, 12).toString('latin1');
  if (ascii.startsWith('GIF87a') || ascii.startsWith('GIF89a')) return 'gif';
  if (ascii.startsWith('RIFF') && ascii.slice(8, 12) === 'WEBP') return 'webp';
  if (ascii.startsWith('II*\u0000') || ascii.startsWith('MM\u0000*')) return 'tiff';
  if (ascii.startsWith('BM') && head.length > 26) return 'bmp';
  if (ascii.slice(4, 8) === 'ftyp') {
    const brands = ftypBrands(head);
    if (brands.some((b) => AVIF_BRANDS.has(b))) return 'avif';
    if (brands.some((b) => HEIC_BRANDS.has(b))) return 'heic';
    return null;
  }
  const text = head
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  // Markup with an <svg> element anywhere in the head, whatever comes first (prolog, comments, doctype).
  if (text.startsWith('<') && /<svg[\s>]/i.test(text)) return 'svg';
  return null;
}

/**
 * An SVG from its root element on. libvips recognises SVG only when `<svg` comes within its first
 * kilobyte or so; what may come before it in an SVG Kiln accepts (XML declaration, comments, a
 * doctype without entities) does not change the picture. The root is looked for where
 * {@link sniffImage} found it, in the first {@link SNIFF_BYTES}.
 *
 * @example
 * fromSvgRoot(Buffer.from('<!-- logo --><svg width="1" height="1"/>')).toString(); // '<svg width="1" height="1"/>'
 */
export function fromSvgRoot(svg: Buffer): Buffer {
  // latin1 maps each byte to one character, so the match index is a byte offset.
  const at = svg
    .subarray(0, SNIFF_BYTES)
    .toString('latin1')
    .search(/<svg[\s>]/i);
  return at > 0 ? svg.subarray(at) : svg;
}

function ftypBrands(head: Buffer): string[] {
  const size = head.readUInt32BE(0);
  const end = Math.min(size, head.length);
  const brands = [head.subarray(8, 12).toString('latin1')];
  for (let i = 16; i + 4 <= end; i += 4) brands.push(head.subarray(i, i + 4).toString('latin1'));
  return brands;
}

/** A file cannot hold more top-level boxes than this without being hostile. */
const MAX_TOP_LEVEL_BOXES = 10_000;

/**
 * Walks the top-level boxes of an ISO-BMFF file (mp4, mov, m4a) and reports whether one claims
 * more bytes than the file has: a truncated upload. ffprobe happily reports such a file's
 * duration when its moov comes first, and the encode then fails halfway.
 *
 * @example
 * if (await isoTruncated(handle, size)) return notMedia('The file is truncated.');
 */
export async function isoTruncated(handle: FileHandle, fileSize: number): Promise<boolean> {
  const header = Buffer.alloc(16);
  let offset = 0;
  for (let count = 0; offset < fileSize && count < MAX_TOP_LEVEL_BOXES; count++) {
    const { bytesRead } = await handle.read(header, 0, 16, offset);
    if (bytesRead < 8) return true;
    let size = header.readUInt32BE(0);
    if (size === 1) {
      if (bytesRead < 16) return true;
      size = Number(header.readBigUInt64BE(8));
    } else if (size === 0) {
      return false; // box runs to the end of the file by definition
    }
    if (size < 8) return true;
    offset += size;
  }
  return offset > fileSize;
}
