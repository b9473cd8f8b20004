import { createRoute, z } from '@hono/zod-openapi';
import { KilnError } from '../../schemas/errors.ts';
import { UploadedFile } from '../../schemas/file.ts';
import { ID_MAX_CHARS } from '../../schemas/job.ts';
import { Upload, UploadCreate } from '../../schemas/upload.ts';
import { readConfig } from '../config/index.ts';
import { DIRECT_PUT_MAX_BYTES, UPLOAD_URL_TTL_S } from '../constants.ts';
import { createRouter } from '../http/app.ts';
import { invalidField } from '../http/errors.ts';
import { errorResponses, json, rateLimitedResponse } from '../http/openapi.ts';
import { fileUrl, uploadKey } from '../storage/keys.ts';
import { kilnBucket } from '../storage/locations.ts';
import { presign } from '../storage/presign.ts';
import { tenantStub } from '../stubs.ts';
import { newId } from '../utils/ids.ts';

/** S3's limit for one PUT; larger files need multipart, which direct uploads do not offer yet. */
const SINGLE_PUT_MAX_BYTES = 5 * 1024 ** 3;

const createUpload = createRoute({
  method: 'post',
  path: '/uploads',
  operationId: 'createUpload',
  tags: ['Files'],
  summary: 'Get a presigned URL to upload a file straight to storage',
  request: { body: { content: { 'application/json': { schema: UploadCreate } }, required: true } },
  responses: {
    201: json(Upload, 'PUT the file to upload_url, then use file.id as a job input.'),
    ...errorResponses,
    ...rateLimitedResponse,
  },
});

const putFile = createRoute({
  method: 'put',
  path: '/files/{id}',
  operationId: 'uploadFile',
  tags: ['Files'],
  summary: 'Upload a small file (up to 100 MiB) through the API',
  request: {
    params: z.object({
      id: z
        .string()
        .max(ID_MAX_CHARS)
        .startsWith('file_')
        .openapi({ param: { name: 'id', in: 'path' } }),
    }),
  },
  responses: { 200: json(UploadedFile, 'The stored file.'), ...errorResponses, ...rateLimitedResponse },
});

export const uploadRoutes = createRouter()
  .openapi(createUpload, async (c) => {
    const body = c.req.valid('json');
    if (body.size !== undefined && body.size > SINGLE_PUT_MAX_BYTES) {
      throw new KilnError('payload_too_large', 'Files larger than 5 GiB cannot be uploaded in one PUT; split or compress the file.');
    }
    const config = readConfig(c.env);
    const origin = new URL(c.req.url).origin;
    const id = newId('file');
    const key = uploadKey(id);
    await tenantStub(c.env, c.get('tenant')).addUpload({
      id,
      key,
      filename: body.filename,
      content_type: body.content_type,
      size: body.size ?? null,
      created_at: Date.now(),
    });
    const uploadUrl = await presign({
      ...kilnBucket(config, origin, key),
      method: 'PUT',
      contentType: body.content_type,
      expiresS: UPLOAD_URL_TTL_S,
    });
    return c.json(
      {
        file: {
          object: 'file' as const,
          id,
          url: fileUrl(key, { origin, publicBase: config.publicFilesBaseUrl }),
          filename: body.filename,
          type: body.content_type,
          filesize: body.size ?? null,
        },
        upload_url: uploadUrl,
        expires_at: Date.now() + UPLOAD_URL_TTL_S * 1000,
      },
      201,
    );
  })
  .openapi(putFile, async (c) => {
    const { id } = c.req.valid('param');
    const upload = await tenantStub(c.env, c.get('tenant')).getUpload(id);
    if (!upload) throw new KilnError('not_found', `No upload ${id} exists for this API key; create one with POST /uploads.`);
    const length = Number(c.req.header('content-length') ?? Number.NaN);
    if (!Number.isFinite(length)) throw invalidField('header.content-length', 'Send a Content-Length header with the file.');
    if (length > DIRECT_PUT_MAX_BYTES) {
      throw new KilnError('payload_too_large', 'Files over 100 MiB must be PUT to the upload_url from POST /uploads.');
    }
    const sent = c.req.header('content-type');
    // The type was declared (and signed into the upload URL) at POST /uploads; the stored object
    // keeps it, so this route cannot relabel a file either.
    if (sent !== undefined && sent.trim().toLowerCase() !== upload.content_type.toLowerCase()) {
      throw new KilnError(
        'unsupported_media_type',
        `Send the file with Content-Type: ${upload.content_type}, the content_type given to POST /uploads (received ${JSON.stringify(sent.slice(0, 100))}).`,
      );
    }
    const stored = await c.env.MEDIA.put(upload.key, c.req.raw.body, { httpMetadata: { contentType: upload.content_type } });
    const config = readConfig(c.env);
    return c.json(
      {
        object: 'file' as const,
        id,
        url: fileUrl(upload.key, { origin: new URL(c.req.url).origin, publicBase: config.publicFilesBaseUrl }),
        filename: upload.filename,
        type: stored.httpMetadata?.contentType ?? upload.content_type,
        filesize: stored.size,
      },
      200,
    );
  });
