/**
 * Turns any image-job input into something sharp can decode safely: a video frame at `start`
 * (clamped to the last frame), HEIC decoded by libheif's heif-convert (prebuilt sharp has no
 * HEVC decoder), or an SVG with its external references removed.
 */
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { cancelledError, type ErrorBody, svgEntityError } from '../../schemas/errors.ts';
import { ffmpegErrorBody, runFfmpeg } from '../ffmpeg/index.ts';
import { fromSvgRoot } from '../probe/sniff.ts';
import { secs } from '../trim/index.ts';
import type { EncodeContext } from '../types.ts';
import { isHdr, toneMapFilters } from '../video/filters.ts';

export type ImageSource = { ok: true; input: string | Buffer; notes: string[] } | { ok: false; error: ErrorBody };

/** heif-convert decodes one still; a phone HEIC takes well under a second. */
const HEIF_CONVERT_TIMEOUT_MS = 60_000;

async function nonEmpty(path: string): Promise<boolean> {
  try {
    return (await stat(path)).size > 0;
  } catch {
    return false;
  }
}

/**
 * Where and how the frame for `start` is taken: the time (clamped to the last frame, with a note),
 * the PNG it is written to and the ffmpeg output options. A coalesced run (container/run/group.ts)
 * writes the same PNG from its shared decode and hands it to the image encoder.
 *
 * @example
 * planVideoFrame(ctx, 2); // { at: 2, notes: [], output: '<workDir>/frame.png', frameArgs: ['-map', '0:v:0', …] }
 */
export function planVideoFrame(
  ctx: Pick<EncodeContext, 'details' | 'workDir'>,
  start: number | undefined,
): { at: number; notes: string[]; output: string; frameArgs: string[] } {
  const notes: string[] = [];
  let at = start ?? 0;
  const last = ctx.details.lastFrameS;
  if (last !== null && at > last) {
    notes.push(`start ${secs(at)} was past the last frame; used ${secs(last)}.`);
    at = last;
  }
  const output = join(ctx.workDir, 'frame.png');
  const vf = [...(isHdr(ctx.details) ? toneMapFilters(ctx.details) : []), 'format=rgb24'].join(',');
  const frameArgs = ['-map', '0:v:0', '-frames:v', '1', '-vf', vf, '-f', 'image2', '-c:v', 'png', '-update', '1'];
  return { at, notes, output, frameArgs };
}

/**
 * Extracts one frame at `start` as PNG. A start past the last frame is clamped to it and noted;
 * if seeking still lands past the end (VFR tails), the last decoded frame is taken instead.
 */
export async function videoFrame(ctx: EncodeContext, start: number | undefined): Promise<ImageSource> {
  const { at, notes, output, frameArgs } = planVideoFrame(ctx, start);
  const base = {
    output,
    timeoutMs: ctx.limits.maxProcessingS * 1000,
    signal: ctx.signal,
    expectedS: null,
    outputLimit: { dir: ctx.workDir, maxBytes: ctx.limits.maxOutputBytes },
  };
  let result = await runFfmpeg({
    ...base,
    inputs: [{ path: ctx.inputPath, options: at > 0 ? ['-ss', String(at)] : [] }],
    outputOptions: frameArgs,
  });
  if (result.ok && !(await nonEmpty(output))) {
    // Seeking landed after the final frame: decode the last second and keep its final frame.
    notes.push(`No frame at ${secs(at)}; used the last frame.`);
    result = await runFfmpeg({
      ...base,
      inputs: [{ path: ctx.inputPath, options: ['-sseof', '-1'] }],
      outputOptions: frameArgs.filter((a, i, all) => a !== '-frames:v' && all[i - 1] !== '-frames:v'),
    });
  }
  if (!result.ok) return { ok: false, error: ffmpegErrorBody(result.error) };
  if (!(await nonEmpty(output))) {
    return { ok: false, error: { kind: 'input_not_media', message: 'No video frame could be decoded from the input.' } };
  }
  return { ok: true, input: output, notes };
}

/** Decodes HEIC/HEIF to PNG with heif-convert (which applies the HEIF rotation and mirror). */
export function heicToPng(ctx: EncodeContext): Promise<ImageSource> {
  const output = join(ctx.workDir, 'decoded.png');
  return new Promise((resolve) => {
    execFile(
      'heif-convert',
      ['--quiet', ctx.inputPath, output],
      { timeout: HEIF_CONVERT_TIMEOUT_MS, killSignal: 'SIGKILL', signal: ctx.signal },
      async (error) => {
        if (ctx.signal?.aborted) return resolve({ ok: false, error: cancelledError() });
        if (error || !(await nonEmpty(output))) {
          return resolve({
            ok: false,
            error: { kind: 'input_not_media', message: 'The HEIC image could not be decoded; it may be corrupt.' },
          });
        }
        resolve({ ok: true, input: output, notes: [] });
      },
    );
  });
}

const EXTERNAL_HREF = /\b((?:xlink:)?href)\s*=\s*(["'])(?!#|data:)[^"']*\2/gi;
const EXTERNAL_URL = /url\(\s*(["']?)(?!#|data:)[^)]*\1\s*\)/gi;

/**
 * Makes an SVG safe to rasterise: entity declarations (billion laughs, XXE) are refused, and
 * every reference to an external resource (href, url(), @import) is removed so nothing is
 * fetched or read from disk. The SVG is handed to sharp as a buffer, so there is no base path
 * for relative references either.
 */
export async function safeSvg(path: string): Promise<ImageSource> {
  const text = await readFile(path, 'utf8');
  if (/<!ENTITY/i.test(text)) {
    return { ok: false, error: svgEntityError() };
  }
  let removed = 0;
  const cleaned = text
    .replace(EXTERNAL_HREF, (_m, attr: string) => {
      removed++;
      return `${attr}=""`;
    })
    .replace(EXTERNAL_URL, () => {
      removed++;
      return 'none';
    })
    .replace(/@import[^;]*;/gi, () => {
      removed++;
      return '';
    });
  const notes = removed > 0 ? [`Removed ${removed} external reference(s) from the SVG; Kiln never fetches them.`] : [];
  return { ok: true, input: fromSvgRoot(Buffer.from(cleaned, 'utf8')), notes };
}
