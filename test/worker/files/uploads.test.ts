import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { api, VIDEO_JOB } from '../helpers.ts';

async function newUpload(body: Record<string, unknown> = { filename: '../../etc/clip.mov', content_type: 'video/quicktime' }) {
  const res = await api('/uploads', { method: 'POST', json: body });
  expect(res.status).toBe(201);
  return res.json<{ file: { id: string; url: string }; upload_url: string; expires_at: number }>();
}

describe('uploads and files', () => {
  it('issues a presigned PUT under a Kiln-chosen key, never the user-supplied name', async () => {
    const upload = await newUpload();
    expect(upload.file.id).toMatch(/^file_/);
    expect(upload.file.url).toBe(`http://127.0.0.1:8787/files/uploads/${upload.file.id}`);
    const put = new URL(upload.upload_url);
    expect(put.pathname).toBe(`/cdn-cgi/local/r2/s3/kiln-media/uploads/${upload.file.id}`);
    expect(put.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(put.searchParams.get('X-Amz-Expires')).toBe('3600');
    expect(put.searchParams.get('X-Amz-SignedHeaders')).toBe('content-type;host');
    expect(upload.upload_url).not.toContain('etc');
  });

  it('stores a small body through PUT /files/{id} and serves it with ETag, Range and cache headers', async () => {
    const upload = await newUpload({ filename: 'note.txt', content_type: 'text/plain' });
    const put = await api(`/files/${upload.file.id}`, { method: 'PUT', body: 'hello, kiln', headers: { 'content-type': 'text/plain' } });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ id: upload.file.id, filesize: 11, type: 'text/plain' });
    const path = new URL(upload.file.url).pathname;
    const full = await api(path, { key: null });
    expect(full.status).toBe(200);
    expect(await full.text()).toBe('hello, kiln');
    expect(full.headers.get('cache-control')).toContain('immutable');
    const etag = full.headers.get('etag')!;
    const partial = await api(path, { key: null, headers: { range: 'bytes=7-10' } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe('bytes 7-10/11');
    expect(await partial.text()).toBe('kiln');
    const cached = await api(path, { key: null, headers: { 'if-none-match': etag } });
    expect(cached.status).toBe(304);
  });

  it('serves the whole file when R2 cannot parse the If-* or Range headers, instead of a 500', async () => {
    const upload = await newUpload({ filename: 'note.txt', content_type: 'text/plain' });
    await api(`/files/${upload.file.id}`, { method: 'PUT', body: 'hello, kiln', headers: { 'content-type': 'text/plain' } });
    const path = new URL(upload.file.url).pathname;
    for (const headers of [{ 'if-none-match': 'W/"' }, { 'if-none-match': 'W/"', range: 'bytes=0-0' }] as Record<string, string>[]) {
      const get = await api(path, { key: null, headers });
      expect(get.status, JSON.stringify(headers)).toBe(200);
      expect(get.headers.get('content-length')).toBe('11');
      expect(await get.text()).toBe('hello, kiln');
      const head = await api(path, { key: null, method: 'HEAD', headers });
      expect(head.status, JSON.stringify(headers)).toBe(200);
    }
  });

  it('asks for a Content-Length on PUT /files/{id} with an issue naming the header', async () => {
    const upload = await newUpload({ filename: 'note.txt', content_type: 'text/plain' });
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('hello'));
        controller.close();
      },
    });
    const res = await api(`/files/${upload.file.id}`, { method: 'PUT', body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      kind: 'invalid_input',
      message: 'Send a Content-Length header with the file.',
      issues: [{ path: 'header.content-length', message: 'Send a Content-Length header with the file.' }],
    });
  });

  it("refuses PUT /files for another tenant's upload and for unknown ids", async () => {
    const upload = await newUpload();
    expect((await api(`/files/${upload.file.id}`, { method: 'PUT', body: 'x', key: 'other_tenant_key' })).status).toBe(404);
    expect((await api('/files/file_nope', { method: 'PUT', body: 'x' })).status).toBe(404);
  });

  it('accepts an upload as a job input by id or URL, but not one from another tenant', async () => {
    const upload = await newUpload();
    await env.MEDIA.put(`uploads/${upload.file.id}`, 'not really a movie');
    for (const input of [upload.file.id, upload.file.url]) {
      const res = await api('/jobs', { method: 'POST', json: { ...VIDEO_JOB, input } });
      expect(res.status).toBe(201);
    }
    const stolen = await api('/jobs', { method: 'POST', json: { ...VIDEO_JOB, input: upload.file.id }, key: 'other_tenant_key' });
    expect(stolen.status).toBe(400);
    expect((await stolen.json<{ issues: { path: string }[] }>()).issues[0]?.path).toBe('input');
  });

  it('serves uploads so they can never run as a page on the API origin', async () => {
    const upload = await newUpload({ filename: 'x.html', content_type: 'text/html' });
    await api(`/files/${upload.file.id}`, { method: 'PUT', body: '<script>alert(1)</script>', headers: { 'content-type': 'text/html' } });
    const res = await api(new URL(upload.file.url).pathname, { key: null });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain('sandbox');
    expect(res.headers.get('content-disposition')).toBe('attachment');
  });

  it.each([
    'outputs/%2e%2e/%2e%2e/other-bucket/secret.mp4',
    'outputs/job_x/../../other-bucket/secret.mp4',
    'outputs/%2E%2E/uploads/file_abc',
    'uploads/%2e%2e/outputs/x',
    'outputs/%zz',
  ])('refuses a crafted file URL as input: /files/%s', async (path) => {
    const res = await api('/jobs', { method: 'POST', json: { ...VIDEO_JOB, input: `http://127.0.0.1:8787/files/${path}` } });
    expect(res.status).toBe(400);
    expect((await res.json<{ issues: { path: string }[] }>()).issues[0]?.path).toBe('input');
  });

  it('answers 404 not_found as JSON for a missing file', async () => {
    const res = await api('/files/outputs/job_x/file_missing.mp4', { key: null });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ kind: 'not_found' });
  });

  it('keeps the declared type through PUT /files: another Content-Type is refused, naming the one to send', async () => {
    const upload = await newUpload({ filename: 'clip.png', content_type: 'image/png' });
    const html = await api(`/files/${upload.file.id}`, {
      method: 'PUT',
      body: '<script>alert(1)</script>',
      headers: { 'content-type': 'text/html' },
    });
    expect(html.status).toBe(415);
    expect(await html.json()).toEqual({
      kind: 'unsupported_media_type',
      message: 'Send the file with Content-Type: image/png, the content_type given to POST /uploads (received "text/html").',
    });
    const png = await api(`/files/${upload.file.id}`, { method: 'PUT', body: 'png bytes', headers: { 'content-type': 'IMAGE/PNG' } });
    expect(png.status).toBe(200);
    expect((await api(new URL(upload.file.url).pathname, { key: null })).headers.get('content-type')).toBe('image/png');
  });

  it('refuses a content_type that is not a media type, naming the field', async () => {
    const res = await api('/uploads', { method: 'POST', json: { filename: 'x', content_type: 'text/html\r\nx-evil: 1' } });
    expect(res.status).toBe(400);
    expect((await res.json<{ issues: { path: string; message: string }[] }>()).issues[0]).toMatchObject({
      path: 'content_type',
      message: expect.stringMatching(/^Expected a media type such as video\/mp4 for content_type/),
    });
  });

  it('answers 500 naming R2_S3_ENDPOINT instead of a URL nobody can use, outside local development', async () => {
    const res = await exports.default.fetch(
      new Request('https://kiln.example.com/uploads', {
        method: 'POST',
        headers: { authorization: 'Bearer kiln_dev_key', 'content-type': 'application/json' },
        body: JSON.stringify({ filename: 'clip.mov', content_type: 'video/quicktime' }),
      }),
    );
    expect(res.status).toBe(500);
    const body = await res.json<{ kind: string; message: string }>();
    expect(body.kind).toBe('internal_error');
    expect(body.message).toContain('R2_S3_ENDPOINT is not set');
    expect(body.message).toContain('https://<ACCOUNT_ID>.r2.cloudflarestorage.com');
  });
});
