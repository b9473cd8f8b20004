/** Fetches an http(s) input to a local temp file for local mode, within the input byte limit. */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type CliError, interruptedError } from '../schemas/errors.ts';
import { failureReason } from './outcome.ts';

/** A server that sends no bytes for this long is treated as unreachable. */
export const DOWNLOAD_IDLE_TIMEOUT_MS = 30_000;

export type Download = { ok: true; path: string } | { ok: false; error: CliError };

/** How a signed URL is named in messages, and what its refusal means, so no signature is printed. */
export interface DownloadLabel {
  name: string;
  refused(status: number, body: string): CliError;
}

/**
 * Downloads `url` into `dir`, refusing bodies over `maxBytes`.
 *
 * @example
 * const file = await download('https://example.com/clip.mov', tmpDir, limits.maxInputBytes);
 */
export async function download(url: string, dir: string, maxBytes: number, signal?: AbortSignal, label?: DownloadLabel): Promise<Download> {
  const unreachable = (why: string): Download => ({
    ok: false,
    error: { kind: 'input_unreachable', message: `Could not download ${label?.name ?? url}: ${why}` },
  });
  const idle = new AbortController();
  let timer = setTimeout(() => idle.abort(), DOWNLOAD_IDLE_TIMEOUT_MS);
  const combined = signal ? AbortSignal.any([signal, idle.signal]) : idle.signal;
  try {
    const response = await fetch(url, { signal: combined, redirect: 'follow' });
    if (!response.ok && label) return { ok: false, error: label.refused(response.status, await response.text()) };
    if (!response.ok || !response.body) return unreachable(`the server answered ${response.status}`);
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > maxBytes) {
      return { ok: false, error: { kind: 'input_too_large', message: `The input is ${declared} bytes; the limit is ${maxBytes}.` } };
    }
    const name =
      new URL(url).pathname
        .split('/')
        .pop()
        ?.replace(/[^A-Za-z0-9._-]/g, '_') || 'input';
    const path = join(dir, `download-${name}`);
    let received = 0;
    const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => {
      received += chunk.length;
      clearTimeout(timer);
      timer = setTimeout(() => idle.abort(), DOWNLOAD_IDLE_TIMEOUT_MS);
      if (received > maxBytes) body.destroy(new Error('too large'));
    });
    await pipeline(body, createWriteStream(path));
    return { ok: true, path };
  } catch (err) {
    if (signal?.aborted) return { ok: false, error: interruptedError() };
    if ((err as Error).message === 'too large') {
      return { ok: false, error: { kind: 'input_too_large', message: `The input is larger than the limit of ${maxBytes} bytes.` } };
    }
    return unreachable(idle.signal.aborted ? 'the server stopped sending data' : failureReason(err));
  } finally {
    clearTimeout(timer);
  }
}
