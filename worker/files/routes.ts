import { Hono } from 'hono';
import { KilnError } from '../../schemas/errors.ts';
import { mimeFor } from '../../schemas/formats.ts';
import type { AppEnv } from '../http/app.ts';

/** Outputs and uploads are immutable under their keys, so caches may keep them for a year. */
const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/**
 * The object, within the request's Range and If-* headers. R2 throws on a malformed one (an
 * If-None-Match of `W/"`); HTTP lets a server ignore such headers (RFC 9110 §13.1, §14.2), so the
 * object is then served whole (`ranged: false`) rather than as a 500.
 */
async function getHonouringHeaders(bucket: R2Bucket, key: string, headers: Headers) {
  try {
    return { object: await bucket.get(key, { range: headers, onlyIf: headers }), ranged: true };
  } catch {
    return { object: await bucket.get(key), ranged: false };
  }
}

/**
 * Serves objects from Kiln's bucket: Range, ETag and conditional requests handled by R2 itself.
 * No API key: the URLs Kiln hands out are unguessable (docs/api.md#uploads-and-files) so they work in <img> and <video>.
 */
export const fileRoutes = new Hono<AppEnv>().on(['GET', 'HEAD'], '/files/:key{(outputs|uploads)/.+}', async (c) => {
  const key = c.req.param('key');
  const { object, ranged } = await getHonouringHeaders(c.env.MEDIA, key, c.req.raw.headers);
  if (!object) throw new KilnError('not_found', 'No file exists at this URL.');
  const headers = new Headers();
  object.writeHttpMetadata(headers);
  headers.set('etag', object.httpEtag);
  headers.set('accept-ranges', 'bytes');
  headers.set('cache-control', IMMUTABLE_CACHE_CONTROL);
  if (!headers.has('content-type')) headers.set('content-type', 'application/octet-stream');
  // Uploads carry whatever type their uploader claimed: never let one run as a page on this origin.
  headers.set('x-content-type-options', 'nosniff');
  headers.set('content-security-policy', "sandbox; default-src 'none'");
  const type = headers.get('content-type') ?? '';
  if (!/^(image|video|audio)\//.test(type) && type !== mimeFor('adaptive_video', 'hls')) {
    headers.set('content-disposition', 'attachment');
  }
  if (!('body' in object)) return new Response(null, { status: 304, headers });
  const range = object.range as { offset?: number; length?: number } | undefined;
  const isPartial = ranged && c.req.header('range') !== undefined && range !== undefined;
  if (isPartial) {
    const offset = range.offset ?? 0;
    const length = range.length ?? object.size - offset;
    headers.set('content-range', `bytes ${offset}-${offset + length - 1}/${object.size}`);
    headers.set('content-length', String(length));
  } else {
    headers.set('content-length', String(object.size));
  }
  return new Response(c.req.method === 'HEAD' ? null : object.body, { status: isPartial ? 206 : 200, headers });
});
