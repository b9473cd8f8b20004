import { classifyHost, outboundRefusal } from '../../common/address.ts';
import { invalidField } from '../http/errors.ts';

/**
 * Checks a URL Kiln will send something to, or fetch from: http(s) only, and never a private,
 * link-local or metadata address; loopback only when the deployment allows it (dev). The
 * processor checks the addresses behind the name again when it connects (docs/api.md#limits-and-security).
 *
 * `expected` words what the field takes when it takes more than a URL (a job's input also takes
 * file ids and s3:// keys, which are resolved before this check).
 *
 * @example checkOutboundUrl(body.webhook_url, 'webhook_url', { allowLoopback: false, httpsOnly: true })
 */
export function checkOutboundUrl(
  raw: string,
  field: string,
  opts: { allowLoopback: boolean; httpsOnly?: boolean; expected?: string },
): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidField(field, `Expected ${opts.expected ?? 'a URL'} for ${field} but received ${JSON.stringify(raw.slice(0, 100))}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalidField(field, `Expected ${opts.expected ?? 'an https:// URL'} for ${field} but received the scheme ${url.protocol}`);
  }
  const refusal = outboundRefusal(url.hostname, opts);
  if (refusal === 'forbidden') {
    throw invalidField(field, `${field} points at a private, link-local or reserved address, which Kiln never contacts`);
  }
  if (refusal === 'loopback') {
    throw invalidField(field, `${field} points at a loopback address, which is only allowed in development`);
  }
  // Development receivers on loopback speak plain http.
  if (opts.httpsOnly && url.protocol !== 'https:' && classifyHost(url.hostname) !== 'loopback') {
    throw invalidField(field, `Expected an https:// URL for ${field}`);
  }
  return url;
}
