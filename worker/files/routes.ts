import { z } from '@hono/zod-openapi';
import { ErrorBody, KilnError } from '../../schemas/errors.ts';
import { mimeFor } from '../../schemas/formats.ts';
import { createRouter } from '../http/app.ts';
import { json } from '../http/openapi.ts';

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
export const fileRoutes = createRouter();
fileRoutes.on(['GET', 'HEAD'], '/files/:prefix{outputs|uploads}/:rest{.+}', async (c) => {
  const key = `${c.req.param('prefix')}/${c.req.param('rest')}`;
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

const FileParams = z.object({
  prefix: z.enum(['outputs', 'uploads']).openapi({ description: '`outputs` for what jobs wrote, `uploads` for what was uploaded.' }),
  rest: z.string().openapi({
    description: 'The rest of the file URL Kiln returned; it may contain `/` (files inside an HLS folder). Use the URL as given.',
  }),
});
const bytes = { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } };
const notFound = { 404: json(ErrorBody, 'No file exists at this URL (`not_found`).') };
const fileHeaders = {
  ETag: { schema: { type: 'string' as const }, description: 'For If-None-Match.' },
  'Content-Length': { schema: { type: 'integer' as const }, description: 'Bytes in this response.' },
};

// Registered by hand: zod-openapi's routes cannot take a path parameter that spans `/`.
fileRoutes.openAPIRegistry.registerPath({
  method: 'get',
  path: '/files/{prefix}/{rest}',
  operationId: 'getFile',
  tags: ['Files'],
  summary: 'Download an output or an upload; Range and If-None-Match honoured, no API key needed',
  security: [],
  request: { params: FileParams },
  responses: {
    200: { description: 'The whole file.', headers: fileHeaders, content: bytes },
    206: { description: 'The requested Range, with Content-Range.', content: bytes },
    304: { description: 'Not modified since the ETag in If-None-Match.' },
    ...notFound,
  },
});
fileRoutes.openAPIRegistry.registerPath({
  method: 'head',
  path: '/files/{prefix}/{rest}',
  operationId: 'headFile',
  tags: ['Files'],
  summary: "A file's size, type and ETag without its bytes",
  security: [],
  request: { params: FileParams },
  responses: { 200: { description: 'The file exists.', headers: fileHeaders }, ...notFound },
});
