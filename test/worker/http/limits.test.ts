import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { api, BASE, KEY, VIDEO_JOB } from '../helpers.ts';

/** Two mebibytes: far over every string limit and over the API's body limit. */
const HUGE = 'a'.repeat(2 * 1024 * 1024);
/** Over the string limits, well under the body limit, so the schema is what refuses it. */
const LONG = 'a'.repeat(5000);

/** A body streamed without Content-Length, so only counting the bytes as they arrive can stop it. */
function streamed(path: string, text: string, headers: Record<string, string> = {}): Promise<Response> {
  const bytes = new TextEncoder().encode(text);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 64 * 1024) controller.enqueue(bytes.subarray(i, i + 64 * 1024));
      controller.close();
    },
  });
  return exports.default.fetch(
    new Request(`${BASE}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...headers },
      body,
      duplex: 'half',
    } as RequestInit),
  );
}

describe('request body limits', () => {
  it.each([['/jobs'], ['/tasks'], ['/uploads'], ['/connections']])(
    'refuses a 2 MiB body to POST %s with 413 payload_too_large',
    async (path) => {
      const res = await api(path, { method: 'POST', json: { ...VIDEO_JOB, webhook_url: `https://example.com/${HUGE}` } });
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({
        kind: 'payload_too_large',
        message: 'The request body is larger than 512 KiB; send a smaller JSON body.',
      });
    },
  );

  it('counts a body that arrives without Content-Length as it streams', async () => {
    const res = await streamed('/jobs', JSON.stringify({ ...VIDEO_JOB, metadata: { a: HUGE } }));
    expect(res.status).toBe(413);
    expect((await res.json<{ kind: string }>()).kind).toBe('payload_too_large');
  });

  it('still accepts the largest valid job body', async () => {
    const metadata = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, '\u00e9'.repeat(2048)]));
    const res = await api('/jobs', {
      method: 'POST',
      json: { ...VIDEO_JOB, metadata, webhook_url: `https://example.com/${'a'.repeat(4000)}` },
    });
    expect(res.status).toBe(201);
  });
});

describe('string limits', () => {
  it.each([
    ['webhook_url', `https://example.com/${LONG}`, 4096],
    ['output', `s3://bucket/${LONG}`, 4096],
    ['input', `https://example.com/${LONG}`, 4096],
    ['connection_id', `conn_${LONG}`, 64],
  ])('refuses a %s longer than its limit with 400 naming the field', async (field, value, max) => {
    const res = await api('/jobs', { method: 'POST', json: { ...VIDEO_JOB, [field]: value } });
    expect(res.status).toBe(400);
    const body = await res.json<{ kind: string; issues: { path: string; message: string }[] }>();
    expect(body.kind).toBe('invalid_input');
    expect(body.issues).toContainEqual({
      path: field,
      message: `Expected a string of length <= ${max} for ${field} but received string of type string`,
    });
  });

  it('refuses an option name longer than its limit', async () => {
    const res = await api('/jobs', { method: 'POST', json: { ...VIDEO_JOB, options: { [LONG]: 1 } } });
    expect(res.status).toBe(400);
    expect((await res.json<{ kind: string }>()).kind).toBe('invalid_input');
  });

  it('refuses a percentage longer than its limit', async () => {
    const res = await api('/jobs', { method: 'POST', json: { ...VIDEO_JOB, options: { width: `${'1'.repeat(40)}%` } } });
    expect(res.status).toBe(400);
    expect((await res.json<{ issues: { path: string }[] }>()).issues[0]?.path).toBe('options.width');
  });

  it.each([
    ['url', { kind: 'video', url: `https://example.com/${LONG}` }],
    ['kind', { kind: LONG, url: VIDEO_JOB.input }],
  ])('refuses a task %s longer than its limit', async (field, body) => {
    const res = await api('/tasks', { method: 'POST', json: body });
    expect(res.status).toBe(400);
    expect((await res.json<{ issues: { path: string }[] }>()).issues.map((i) => i.path)).toContain(field);
  });

  it('refuses a connection endpoint longer than its limit', async () => {
    const res = await api('/connections', {
      method: 'POST',
      json: { endpoint: `https://example.com/${LONG}`, access_key_id: 'a', secret_access_key: 'b' },
    });
    expect(res.status).toBe(400);
    expect((await res.json<{ issues: { path: string }[] }>()).issues[0]?.path).toBe('endpoint');
  });

  it('refuses a list filter and an id longer than their limits', async () => {
    const list = await api(`/jobs?input=${LONG}`);
    expect(list.status).toBe(400);
    expect((await list.json<{ issues: { path: string }[] }>()).issues[0]?.path).toBe('query.input');
    const filter = await api(`/jobs?metadata[user_id]=${LONG}`);
    expect(filter.status).toBe(400);
    expect((await filter.json<{ issues: { path: string }[] }>()).issues[0]?.path).toBe('query.metadata[user_id]');
    const get = await api(`/jobs/job_${'a'.repeat(100)}`);
    expect(get.status).toBe(400);
    expect((await get.json<{ issues: { path: string }[] }>()).issues[0]?.path).toBe('param.id');
  });
});
