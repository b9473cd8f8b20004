import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type http from 'node:http';
import type { LookupFunction } from 'node:net';
import { outboundRefusal } from '../../common/address.ts';
import { type HttpRequestOptions, httpRequest } from './http-request.ts';

/** Redirects followed for one input before giving up (browsers allow 20; inputs rarely need 2). */
export const MAX_REDIRECTS = 5;

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
        if (outboundRefusal(a.address, { allowLoopback })) {
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

export interface GuardedRequestOptions extends Omit<HttpRequestOptions, 'lookup'> {
  allowLoopback: boolean;
}

/**
 * One HTTP(S) request through the guarded lookup. Redirects are followed by the caller
 * ({@link followRedirects}) so that every hop is checked again.
 */
export function guardedRequest(url: URL, opts: GuardedRequestOptions): Promise<http.IncomingMessage> {
  // Other schemes are refused by httpRequest, with a message that says so.
  const isHttp = url.protocol === 'http:' || url.protocol === 'https:';
  if (isHttp && outboundRefusal(url.hostname, opts)) {
    return Promise.reject(new BlockedAddressError(url.hostname, url.hostname));
  }
  const { allowLoopback, ...request } = opts;
  return httpRequest(url, { ...request, lookup: guardedLookup(allowLoopback) });
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
