/**
 * Image: JPEG/PNG/WebP/AVIF from an image or a video frame, with sharp. EXIF orientation
 * applied (all eight, mirrored too), sRGB, metadata stripped (sharp writes none unless asked),
 * alpha kept where the format has it (docs/api.md#image).
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import sharp, { type ResizeOptions, type Sharp } from 'sharp';
import { cancelledError, type ErrorBody } from '../../schemas/errors.ts';
import { extensionFor } from '../../schemas/formats.ts';
import type { ImageOptions } from '../../schemas/options.ts';
import { type Limits, outputBytesError, outputPixelsError } from '../limits.ts';
import { displaySize } from '../probe/index.ts';
import { largestFrame, planResize, type ResizePlan } from '../resize/index.ts';
import type { EncodeContext, EncodeResult } from '../types.ts';
import { imageQuality } from './quality.ts';
import { heicToPng, type ImageSource, safeSvg, videoFrame } from './source.ts';

export type ImageFormat = NonNullable<ImageOptions['format']>;

/**
 * The web-safe format an input keeps when none is asked for: JPEG, PNG, WebP and AVIF stay as
 * they are; HEIC and video frames become JPEG (no alpha, universal); GIF, SVG and BMP become PNG
 * (they may have transparency or flat colour); TIFF becomes PNG when it has alpha, else JPEG.
 * Animated GIF/WebP inputs give their first frame.
 */
export function defaultImageFormat(ctx: Pick<EncodeContext, 'info' | 'details'>): ImageFormat {
  const source = ctx.details.image?.format;
  switch (source) {
    case 'jpeg':
    case 'png':
    case 'webp':
    case 'avif':
      return source;
    case 'gif':
    case 'svg':
    case 'bmp':
      return 'png';
    case 'tiff':
      return ctx.details.image?.hasAlpha ? 'png' : 'jpeg';
    default:
      return 'jpeg';
  }
}

const SHARP_POSITION: Record<string, string> = {
  center: 'centre',
  top: 'top',
  bottom: 'bottom',
  left: 'left',
  right: 'right',
  top_left: 'left top',
  top_right: 'right top',
  bottom_left: 'left bottom',
  bottom_right: 'right bottom',
};

function resizeOptions(plan: ResizePlan, options: ImageOptions, format: ImageFormat): ResizeOptions {
  const position = SHARP_POSITION[options.position ?? 'center'] ?? 'centre';
  switch (plan.mode) {
    case 'scale':
    case 'fill':
      return { width: plan.width, height: plan.height, fit: 'fill' };
    case 'cover':
      return { width: plan.width, height: plan.height, fit: 'cover', position };
    case 'contain':
      return {
        width: plan.width,
        height: plan.height,
        fit: 'contain',
        position,
        // Formats with alpha pad with transparency unless a background is given; JPEG pads black.
        background: options.background ?? (format === 'jpeg' ? '#000000' : { r: 0, g: 0, b: 0, alpha: 0 }),
      };
  }
}

/** The image grew past `KILN_MAX_OUTPUT_BYTES` on its way to disk. */
class OutputTooLargeError extends Error {
  override name = 'OutputTooLargeError';
}

/** Passes bytes through until more than `maxBytes` have gone by, then fails the pipeline. */
function byteLimit(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      done(seen > maxBytes ? new OutputTooLargeError(`more than ${maxBytes} bytes`) : null, chunk);
    },
  });
}

/** What sharp decodes for an image job: the input itself, a frame of a video input, or a HEIC or SVG made decodable and safe. */
export async function resolveSource(ctx: EncodeContext, options: ImageOptions): Promise<ImageSource> {
  if (ctx.info.kind === 'video') return videoFrame(ctx, options.start);
  if (ctx.info.kind === 'audio') {
    return {
      ok: false,
      error: { kind: 'no_video_stream', message: 'The input is audio only; an image needs a picture or a video input.' },
    };
  }
  if (ctx.details.image?.format === 'heic') return heicToPng(ctx);
  if (ctx.details.image?.format === 'svg') return safeSvg(ctx.inputPath);
  return { ok: true, input: ctx.inputPath, notes: [] };
}

/**
 * What a coalesced run (container/run/group.ts) has already decoded for this image: the source
 * (a video frame from its shared decode, a HEIC or SVG made safe once), and for a still input the
 * sharp instance every output clones (libvips still decodes the file once per clone, shrinking on load).
 */
export interface ImageFrom {
  source?: Extract<ImageSource, { ok: true }>;
  decoded?: Sharp;
}

/**
 * The sharp instance that decodes an image job's source, limited as every job is.
 *
 * @example
 * const decoded = imageDecoder(buffer, limits); // decoded.clone() per output
 */
export function imageDecoder(input: string | Buffer, limits: Limits): Sharp {
  return sharp(input, { failOn: 'warning', limitInputPixels: limits.maxImagePixels, animated: false }).timeout({
    seconds: Math.ceil(limits.maxProcessingS),
  });
}

/**
 * Encodes one still image into `ctx.workDir`.
 *
 * @example
 * const result = await encodeImage(ctx, { width: 640, format: 'webp' });
 * if (result.ok) console.log(result.path); // <workDir>/output.webp
 */
export async function encodeImage(ctx: EncodeContext, options: ImageOptions, from: ImageFrom = {}): Promise<EncodeResult> {
  const { plan, notes: resizeNotes } = planResize(displaySize(ctx.info, ctx.details), options, { even: false });
  // Before a video frame or HEIC is decoded; an audio input is told it has no picture instead.
  const tooBig = ctx.info.kind === 'audio' ? null : outputPixelsError(largestFrame(plan), ctx.limits, 'maxOutputImagePixels');
  if (tooBig) return { ok: false, error: tooBig };
  const source = from.source ?? (await resolveSource(ctx, options));
  if (!source.ok) return source;
  const notes = [...source.notes];
  if (ctx.info.kind === 'image' && options.start !== undefined) notes.push('start is ignored for still images.');
  if ((ctx.details.image?.pages ?? 1) > 1 && ctx.info.duration) notes.push('The input is animated; used its first frame.');
  const format = options.format ?? defaultImageFormat(ctx);
  const quality = imageQuality(options.quality);
  notes.push(...resizeNotes);
  const output = join(ctx.workDir, `output.${extensionFor('image', format)}`);
  ctx.onProgress?.(10);
  try {
    let image = (from.decoded?.clone() ?? imageDecoder(source.input, ctx.limits)).rotate().resize(resizeOptions(plan, options, format));
    if (format === 'jpeg') image = image.flatten({ background: options.background ?? '#ffffff' });
    image = image.toColourspace('srgb');
    switch (format) {
      case 'jpeg':
        image = image.jpeg({ quality: quality.jpeg, progressive: true, chromaSubsampling: '4:2:0' });
        break;
      case 'png':
        image = image.png({ compressionLevel: 8, adaptiveFiltering: true });
        break;
      case 'webp':
        image = image.webp({ quality: quality.webp, effort: 4 });
        break;
      case 'avif':
        image = image.avif({ quality: quality.avif, effort: 3 });
        break;
    }
    if (ctx.signal?.aborted) return { ok: false, error: cancelledError() };
    await pipeline(image, byteLimit(ctx.limits.maxOutputBytes), createWriteStream(output));
  } catch (err) {
    if (err instanceof OutputTooLargeError) return { ok: false, error: outputBytesError(ctx.limits.maxOutputBytes) };
    return { ok: false, error: sharpErrorBody(err) };
  }
  if (ctx.signal?.aborted) return { ok: false, error: cancelledError() };
  ctx.onProgress?.(100);
  return { ok: true, path: output, notes };
}

/**
 * Maps a sharp/libvips failure to the error a user sees. sharp rejects with a plain `Error` whose
 * message is all that tells a pixel-limit or timeout failure apart (no code, no class), so the
 * message matching is unavoidable and is kept in this one function.
 */
function sharpErrorBody(err: unknown): ErrorBody {
  const message = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(message)) {
    return { kind: 'too_many_pixels', message: 'The image has more pixels than the limit allows.' };
  }
  if (/timeout/i.test(message)) {
    return { kind: 'timeout', message: 'Processing took longer than the time limit and was stopped.' };
  }
  return {
    kind: 'input_not_media',
    message: `The image could not be decoded; it may be corrupt or truncated (${message.split('\n')[0]?.slice(0, 200)}).`,
  };
}
