import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { classifyHost } from '../../common/address.ts';

/** Redirects followed for one input before giving up (browsers allow 20; inputs rarely need 2). */
export const MAX_REDIRECTS = 5;
/** No byte for this long on an input or output connection means it is dead. */
export const SOCKET_IDLE_TIMEOUT_MS = 60_000;

export class BlockedAddressError extends Error {
  constructor(host: string, address: string) {
    super(`${host} resolves to ${address}, a private, loopback or reserved address that Kiln never contacts`);
    this.name = 'BlockedAddressError';
  }
}

/**
 * A DNS lookup that refuses forbidden addresses at connect time, so neither a redirect nor DNS
 * rebinding can steer a request to the metadata service or the private network (docs/api.md#limits-and-security).
 */
export function guardedLookup(allowLoopback: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 4);
      const list = addresses as unknown as LookupAddress[];
      for (const a of list) {
        const cls = classifyHost(a.address);
        if (cls === 'forbidden' || (cls === 'loopback' && !allowLoopback)) {
          return callback(new BlockedAddressError(hostname, a.address), '', 4);
        }
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      const first = list[0];
      if (!first) return callback(new Error(`${hostname} has no addresses`), '', 4);
      callback(null, first.address, first.family);
    });
  };
}

export interface GuardedRequestOptions {
  method: 'GET' | 'PUT' | 'POST';
  headers?: Record<string, string | number>;
  body?: NodeJS.ReadableStream | Buffer | string;
  allowLoopback: boolean;
  signal?: AbortSignal;
}

/**
 * One HTTP(S) request through the guarded lookup. Redirects are followed by the caller
 * ({@link followRedirects}) so that every hop is checked again.
 */
export function guardedRequest(url: URL, opts: GuardedRequestOptions): Promise<http.IncomingMessage> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.reject(new Error(`Only http and https URLs can be fetched, not ${url.protocol}`));
  }
  const literal = classifyHost(url.hostname);
  if (literal === 'forbidden' || (literal === 'loopback' && !opts.allowLoopback)) {
    return Promise.reject(new BlockedAddressError(url.hostname, url.hostname));
  }
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, {
      method: opts.method,
      headers: opts.headers,
      lookup: guardedLookup(opts.allowLoopback),
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

/** GET with redirects followed by hand, each hop through the guard. */
export async function followRedirects(
  start: URL,
  opts: Omit<GuardedRequestOptions, 'method' | 'body'>,
): Promise<{ response: http.IncomingMessage; url: URL }> {
  let url = start;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const response = await guardedRequest(url, { ...opts, method: 'GET' });
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status >= 300 && status < 400 && location) {
      response.resume();
      url = new URL(location, url);
      continue;
    }
    return { response, url };
  }
  throw new Error(`More than ${MAX_REDIRECTS} redirects`);
}
