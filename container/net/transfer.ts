import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { cancelledError, type ErrorBody } from '../../schemas/errors.ts';
import type { Limits } from '../limits.ts';
import { BlockedAddressError, followRedirects, guardedRequest } from './guarded-request.ts';
import { type InputPace, type PaceWatch, SlowInputError, watchPace } from './pace.ts';

/** Attempts for one output PUT: storage hiccups (5xx, reset) are common and cheap to retry. */
export const UPLOAD_ATTEMPTS = 3;
/** Pause between those attempts, doubled each time. */
export const UPLOAD_RETRY_BASE_MS = 1_000;

export type TransferResult = { ok: true; bytes: number; contentType: string | null } | { ok: false; error: ErrorBody };

function redact(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * Streams an input URL to a file, never holding it in memory, refusing blocked addresses on
 * every hop, stopping as soon as the byte limit is passed, and dropping a server that sends too
 * slowly (container/net/pace.ts). Presigned URLs of S3 connections arrive here like any other input.
 */
export async function downloadToFile(opts: {
  url: string;
  path: string;
  limits: Pick<Limits, 'maxInputBytes'> & InputPace;
  allowLoopback: boolean;
  signal?: AbortSignal;
  onProgress?: (percent: number) => void;
}): Promise<TransferResult> {
  const start = new URL(opts.url);
  const pace = watchPace(opts.limits, redact(start));
  try {
    return await download(opts, start, pace);
  } finally {
    pace.stop();
  }
}

async function download(opts: Parameters<typeof downloadToFile>[0], start: URL, pace: PaceWatch): Promise<TransferResult> {
  const maxBytes = opts.limits.maxInputBytes;
  const signal = opts.signal ? AbortSignal.any([opts.signal, pace.signal]) : pace.signal;
  // Checked first: a cancel or a time limit that lands as the pace gives out is the real cause.
  const stopped = (): ErrorBody | null => {
    if (opts.signal?.aborted) return cancelledError();
    if (pace.signal.reason instanceof SlowInputError) return { kind: 'input_unreachable', message: pace.signal.reason.message };
    return null;
  };
  let response: Awaited<ReturnType<typeof followRedirects>>['response'];
  try {
    ({ response } = await followRedirects(start, { allowLoopback: opts.allowLoopback, signal }));
  } catch (err) {
    // Aborted before the response arrived: the job was cancelled or the server too slow, the address is not to blame.
    const why = stopped();
    if (why) return { ok: false, error: why };
    const blocked = err instanceof BlockedAddressError;
    return {
      ok: false,
      error: {
        kind: blocked ? 'invalid_input' : 'input_unreachable',
        message: blocked
          ? `The input URL is not allowed: ${err.message}.`
          : `Could not download the input from ${redact(start)}: ${err instanceof Error ? err.message : String(err)}. Check that the URL is public and reachable.`,
      },
    };
  }
  const status = response.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    response.resume();
    return {
      ok: false,
      error: {
        kind: 'input_unreachable',
        message: `Downloading the input from ${redact(start)} failed with HTTP ${status}. Check that the URL exists and is not private or expired.`,
      },
    };
  }
  const declared = Number(response.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.destroy();
    return { ok: false, error: tooLarge(declared, maxBytes) };
  }
  if (Number.isFinite(declared)) pace.declare(declared);
  let bytes = 0;
  let lastPercent = -1;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      pace.received(chunk.length);
      if (bytes > maxBytes) return done(new InputTooLarge());
      if (Number.isFinite(declared) && declared > 0 && opts.onProgress) {
        const percent = Math.floor((bytes / declared) * 100);
        if (percent !== lastPercent) {
          lastPercent = percent;
          opts.onProgress(percent);
        }
      }
      done(null, chunk);
    },
  });
  try {
    await pipeline(response, meter, createWriteStream(opts.path), { signal });
  } catch (err) {
    if (err instanceof InputTooLarge) return { ok: false, error: tooLarge(bytes, maxBytes) };
    const why = stopped();
    if (why) return { ok: false, error: why };
    return {
      ok: false,
      error: {
        kind: 'input_unreachable',
        message: `The input download from ${redact(start)} broke off after ${bytes} bytes: ${err instanceof Error ? err.message : String(err)}. Retry the job.`,
      },
    };
  }
  const type = response.headers['content-type'];
  return { ok: true, bytes, contentType: typeof type === 'string' ? type : null };
}

class InputTooLarge extends Error {}

function tooLarge(bytes: number, max: number): ErrorBody {
  return {
    kind: 'input_too_large',
    message: `The input is ${(bytes / 1024 ** 2).toFixed(0)} MiB or more, over the ${(max / 1024 ** 2).toFixed(0)} MiB limit. Compress or trim it first.`,
  };
}

/** Streams a file to a presigned PUT URL with its exact length (S3 and R2 refuse chunked PUTs). */
export async function uploadFile(opts: {
  path: string;
  url: string;
  contentType: string;
  allowLoopback: boolean;
  signal?: AbortSignal;
}): Promise<TransferResult> {
  const { size } = await stat(opts.path);
  const target = new URL(opts.url);
  let lastError = '';
  for (let attempt = 1; attempt <= UPLOAD_ATTEMPTS; attempt++) {
    try {
      const response = await guardedRequest(target, {
        method: 'PUT',
        headers: { 'content-length': size, 'content-type': opts.contentType },
        body: createReadStream(opts.path),
        allowLoopback: opts.allowLoopback,
        signal: opts.signal,
      });
      const status = response.statusCode ?? 0;
      const text = await readSmall(response);
      if (status >= 200 && status < 300) return { ok: true, bytes: size, contentType: opts.contentType };
      lastError = `HTTP ${status} ${text.slice(0, 300)}`;
      if (status < 500 && status !== 429) break;
    } catch (err) {
      if (opts.signal?.aborted) return { ok: false, error: cancelledError() };
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (attempt < UPLOAD_ATTEMPTS) await new Promise((r) => setTimeout(r, UPLOAD_RETRY_BASE_MS * 2 ** (attempt - 1)));
  }
  return {
    ok: false,
    error: {
      kind: 'output_write_failed',
      message: `Writing the output to ${redact(target)} failed: ${lastError}. Check the output bucket and its credentials, then retry.`,
    },
  };
}

async function readSmall(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    if (text.length < 2_000) text += chunk.toString();
  }
  return text;
}
