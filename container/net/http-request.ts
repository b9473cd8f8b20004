import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { pipeline } from 'node:stream/promises';

/** No byte for this long on an input or output connection means it is dead. */
export const SOCKET_IDLE_TIMEOUT_MS = 60_000;

export interface HttpRequestOptions {
  method: 'GET' | 'PUT' | 'POST';
  headers?: Record<string, string | number>;
  body?: NodeJS.ReadableStream | Buffer | string;
  signal?: AbortSignal;
  /** Resolves the host; the processor passes its guarded lookup here (./guarded-request.ts). */
  lookup?: LookupFunction;
}

/**
 * One HTTP(S) request with the body streamed at the length the caller declares (S3 and R2 refuse
 * the chunked bodies `fetch` sends for streams) and an idle timeout. No address policy: callers
 * that fetch URLs they were handed go through {@link guardedRequest} instead.
 *
 * @example
 * const res = await httpRequest(new URL(uploadUrl), { method: 'PUT', headers: { 'content-length': size }, body: createReadStream(path) });
 */
export function httpRequest(url: URL, opts: HttpRequestOptions): Promise<http.IncomingMessage> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.reject(new Error(`Only http and https URLs can be fetched, not ${url.protocol}`));
  }
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, {
      method: opts.method,
      headers: opts.headers,
      lookup: opts.lookup,
      signal: opts.signal,
      timeout: SOCKET_IDLE_TIMEOUT_MS,
    });
    req.on('timeout', () => req.destroy(new Error(`No response from ${url.host} for ${SOCKET_IDLE_TIMEOUT_MS / 1000} s`)));
    req.on('response', resolve);
    req.on('error', reject);
    const body = opts.body;
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else {
      // pipeline destroys the file stream when the request fails or is reset, so no descriptor
      // (nor the disk space of a deleted temp file) outlives a failed upload.
      pipeline(body, req).catch(() => {});
    }
  });
}
