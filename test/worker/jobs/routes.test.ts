import { describe, expect, it } from 'vitest';
import { api, VIDEO_JOB } from '../helpers.ts';

describe('POST /jobs', () => {
  it('creates a queued job with four waiting tasks and echoes metadata', async () => {
    const res = await api('/jobs', { method: 'POST', json: { ...VIDEO_JOB, metadata: { user_id: 'usr_abc123' } } });
    expect(res.status).toBe(201);
    const job = await res.json<Record<string, any>>();
    expect(job).toMatchObject({
      object: 'job',
      kind: 'video',
      status: 'queued',
      input: VIDEO_JOB.input,
      options: VIDEO_JOB.options,
      metadata: { user_id: 'usr_abc123' },
      output: null,
      error: null,
      progress: 0,
    });
    expect(job.id).toMatch(/^job_[0-9a-z]{26}$/);
    expect(job.tasks.map((t: { kind: string }) => t.kind)).toEqual(['probe', 'import', 'video', 'export']);
    expect(job.tasks.every((t: { status: string }) => t.status === 'waiting')).toBe(true);
  });

  it('refuses a request without a key, and one with an unknown key, with 401', async () => {
    const none = await api('/jobs', { method: 'POST', json: VIDEO_JOB, key: null });
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ kind: 'unauthorized' });
    const wrong = await api('/jobs', { method: 'POST', json: VIDEO_JOB, key: 'kiln_dev_keY' });
    expect(wrong.status).toBe(401);
  });

  it.each([
    [{ ...VIDEO_JOB, options: { width: 'wide' } }, 'options.width'],
    [{ ...VIDEO_JOB, options: { width: 0 } }, 'options.width'],
    [{ ...VIDEO_JOB, options: { quality: 'ultra' } }, 'options.quality'],
    [{ ...VIDEO_JOB, options: { start: 5, end: 2 } }, 'options.end'],
    [{ ...VIDEO_JOB, options: { format: 'webm', codec: 'h264' } }, 'options.codec'],
    [{ ...VIDEO_JOB, kind: 'animation', options: { start: 3, end: 1 } }, 'options.end'],
    [{ ...VIDEO_JOB, kind: 'sculpture' }, 'kind'],
    [{ kind: 'video' }, 'input'],
    [{ ...VIDEO_JOB, input: 'file:///etc/passwd' }, 'input'],
    [{ ...VIDEO_JOB, input: 'http://169.254.169.254/latest/meta-data' }, 'input'],
    [{ ...VIDEO_JOB, input: 'http://10.0.0.5/clip.mov' }, 'input'],
    [{ ...VIDEO_JOB, webhook_url: 'http://example.com/hook' }, 'webhook_url'],
    [{ ...VIDEO_JOB, metadata: { 'bad key': 'x' } }, 'metadata.bad key'],
    [{ ...VIDEO_JOB, metadata: { note: 'x'.repeat(2049) } }, 'metadata.note'],
    [{ ...VIDEO_JOB, metadata: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) }, 'metadata'],
    [{ ...VIDEO_JOB, surprise: true }, 'surprise'],
  ])('answers 400 invalid_input naming the field for %j', async (body, path) => {
    const res = await api('/jobs', { method: 'POST', json: body });
    expect(res.status).toBe(400);
    const err = await res.json<{ kind: string; message: string; issues: { path: string; message: string }[] }>();
    expect(err.kind).toBe('invalid_input');
    expect(err.issues.map((i) => i.path)).toContain(path);
    // The message is every issue's sentence, so a client that shows only `message` still names the field.
    expect(err.message).toBe(err.issues.map((i) => i.message).join('; '));
    expect(err.issues.find((i) => i.path === path)!.message).toContain(path);
  });

  it.each([
    ['clip.mov', 'Expected a URL (https://…), a file_… id from POST /uploads, or s3://bucket/key for input but received "clip.mov"'],
    [
      'localhost:8787/clip.mov',
      'Expected a URL (https://…), a file_… id from POST /uploads, or s3://bucket/key for input but received the scheme localhost:',
    ],
  ])('refuses the input %s saying a file id from an upload is accepted too', async (input, message) => {
    const res = await api('/jobs', { method: 'POST', json: { ...VIDEO_JOB, input } });
    expect(await res.json()).toEqual({ kind: 'invalid_input', message, issues: [{ path: 'input', message }] });
  });

  it('names every unknown option', async () => {
    const res = await api('/jobs', { method: 'POST', json: { ...VIDEO_JOB, options: { widht: 640, colour: 'red' } } });
    const err = await res.json<{ issues: { path: string; message: string }[] }>();
    expect(err.issues).toEqual([
      { path: 'options.widht', message: 'Unknown field options.widht; remove it or check its spelling' },
      { path: 'options.colour', message: 'Unknown field options.colour; remove it or check its spelling' },
    ]);
  });

  it('answers malformed JSON with 400 naming the body as the issue, not a crash', async () => {
    const res = await api('/jobs', { method: 'POST', body: '{"input":', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      kind: 'invalid_input',
      message: 'Malformed JSON in request body; send a valid JSON body with Content-Type: application/json.',
      issues: [{ path: 'body', message: 'Malformed JSON in request body; send a valid JSON body with Content-Type: application/json.' }],
    });
  });
});

describe('Idempotency-Key', () => {
  it('returns the original job with 200 for the same key and body, and 409 for a changed body', async () => {
    const headers = { 'idempotency-key': 'upload-42' };
    const first = await api('/jobs', { method: 'POST', json: VIDEO_JOB, headers });
    expect(first.status).toBe(201);
    const original = await first.json<{ id: string }>();
    const reordered = { options: { quality: 'high', format: 'mp4', width: 1920 }, kind: 'video', input: VIDEO_JOB.input };
    const replay = await api('/jobs', { method: 'POST', json: reordered, headers });
    expect(replay.status).toBe(200);
    expect((await replay.json<{ id: string }>()).id).toBe(original.id);
    const changed = await api('/jobs', { method: 'POST', json: { ...VIDEO_JOB, options: { width: 640 } }, headers });
    expect(changed.status).toBe(409);
    expect(await changed.json()).toMatchObject({ kind: 'idempotency_key_reused' });
  });

  it('never creates a second job while the first request with a key is still being stored', async () => {
    const headers = { 'idempotency-key': 'racing' };
    const results = await Promise.all(Array.from({ length: 5 }, () => api('/jobs', { method: 'POST', json: VIDEO_JOB, headers })));
    const created = results.filter((r) => r.status === 201);
    expect(created).toHaveLength(1);
    const { id } = await created[0]!.json<{ id: string }>();
    for (const r of results.filter((res) => res.status !== 201)) {
      if (r.status === 200) expect((await r.json<{ id: string }>()).id).toBe(id);
      else expect(r.status).toBe(409);
    }
  });

  it('keeps keys per tenant', async () => {
    const headers = { 'idempotency-key': 'shared-key' };
    const a = await api('/jobs', { method: 'POST', json: VIDEO_JOB, headers });
    const b = await api('/jobs', { method: 'POST', json: { ...VIDEO_JOB, options: {} }, headers, key: 'other_tenant_key' });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
  });
});

describe('GET /jobs/{id} and tenant isolation', () => {
  it("answers 404 job_not_found for another tenant's job, for reads and cancels alike", async () => {
    const job = await (await api('/jobs', { method: 'POST', json: VIDEO_JOB })).json<{ id: string }>();
    expect((await api(`/jobs/${job.id}`)).status).toBe(200);
    const other = await api(`/jobs/${job.id}`, { key: 'other_tenant_key' });
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ kind: 'job_not_found' });
    expect((await api(`/jobs/${job.id}/cancel`, { method: 'POST', key: 'other_tenant_key' })).status).toBe(404);
    expect((await api(`/jobs/${job.id}/deliveries`, { key: 'other_tenant_key' })).status).toBe(404);
    const list = await (await api('/jobs', { key: 'other_tenant_key' })).json<{ id: string }[]>();
    expect(list.map((j) => j.id)).not.toContain(job.id);
  });

  it('answers 404 for a job that does not exist', async () => {
    const res = await api('/jobs/job_00000000000000000000000000');
    expect(res.status).toBe(404);
  });
});

describe('POST /jobs/{id}/cancel', () => {
  it('cancels a queued job and its tasks, and leaves it cancelled', async () => {
    const job = await (await api('/jobs', { method: 'POST', json: VIDEO_JOB })).json<{ id: string }>();
    const res = await api(`/jobs/${job.id}/cancel`, { method: 'POST' });
    const cancelled = await res.json<{ status: string; tasks: { status: string }[]; finished_at: number }>();
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.tasks.every((t) => t.status === 'cancelled')).toBe(true);
    const again = await (await api(`/jobs/${job.id}/cancel`, { method: 'POST' })).json<{ finished_at: number }>();
    expect(again.finished_at).toBe(cancelled.finished_at);
  });
});
