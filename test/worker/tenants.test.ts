import { env } from 'cloudflare:workers';
import { Webhook } from 'standardwebhooks';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { WebhookSecret } from '../../schemas/webhook.ts';
import { newId } from '../../worker/utils/ids.ts';
import { api, KEY, OUTPUT_INFO, processorDouble, report, VIDEO_JOB } from './helpers.ts';

/**
 * Tenant isolation across the whole API. Tenant A (`other`) owns a job of each state, a task, an
 * upload and a connection; tenant B (`dev`) tries every route that addresses an object with A's
 * ids and must get exactly the answer it gets for an id that does not exist. GET /files/{key} is
 * not here: it is public by design, its unguessable URL being the capability (docs/api.md).
 */
const A = 'other_tenant_key';
const B = KEY;
const processor = processorDouble();

interface Owned {
  finished: { id: string };
  running: { id: string };
  task: { id: string };
  probe: { id: string };
  file: { id: string; url: string };
  connection: { id: string };
  hook: string;
}

let owned: Owned;

async function created<T>(res: Promise<Response>): Promise<T> {
  const r = await res;
  if (r.status !== 201) throw new Error(`expected 201, got ${r.status}: ${await r.text()}`);
  return r.json();
}

async function hooksOf(name: string) {
  return vi.waitFor(
    async () => {
      const hooks = await processor.hooks(name);
      if (!hooks.length) throw new Error(`no delivery to ${name} yet`);
      return hooks;
    },
    { timeout: 15_000, interval: 50 },
  );
}

/** A job of `key`'s tenant, finished with a webhook to `hook`. */
async function finishedJob(key: string, hook: string, metadata: Record<string, string>) {
  const job = await created<{ id: string }>(
    api('/jobs', { method: 'POST', key, json: { ...VIDEO_JOB, webhook_url: processor.hookUrl(hook), metadata } }),
  );
  const [task] = await processor.waitForTasks(job.id);
  await report(task!, { type: 'succeeded', output: OUTPUT_INFO });
  await hooksOf(hook);
  return job;
}

beforeAll(async () => {
  const hook = `tenant-a-${crypto.randomUUID()}`;
  const [finished, running, task, probe, upload, connection] = await Promise.all([
    finishedJob(A, hook, { owner: 'tenant-a' }),
    created<{ id: string }>(api('/jobs', { method: 'POST', key: A, json: { ...VIDEO_JOB, metadata: { owner: 'tenant-a' } } })),
    created<{ id: string }>(api('/tasks', { method: 'POST', key: A, json: { kind: 'audio', url: 'https://e.com/a.mp3' } })),
    created<{ id: string }>(
      api('/tasks', {
        method: 'POST',
        key: A,
        json: { kind: 'probe', input: { url: 'https://e.com/a.mov' }, metadata: { owner: 'tenant-a' } },
      }),
    ),
    created<{ file: { id: string; url: string } }>(
      api('/uploads', { method: 'POST', key: A, json: { filename: 'a.mov', content_type: 'video/quicktime' } }),
    ),
    created<{ id: string }>(
      api('/connections', {
        method: 'POST',
        key: A,
        json: { endpoint: 'http://127.0.0.1:9000', region: 'auto', access_key_id: 'AKIATENANTA', secret_access_key: 'tenant-a-secret' },
      }),
    ),
  ]);
  owned = { finished, running, task, probe, file: upload.file, connection, hook };
  // As long as a test: it waits for a queue dispatch and a webhook, like the tests themselves.
}, 20_000);

/** B's answer for A's object and for a missing one, with each id replaced, so they compare as text. */
async function answers(request: (id: string) => Promise<Response>, theirs: string, missing: string) {
  const read = async (id: string) => {
    const res = await request(id);
    return { status: res.status, body: (await res.text()).replaceAll(id, '<id>') };
  };
  return { theirs: await read(theirs), missing: await read(missing) };
}

type Addressed = 'finished' | 'running' | 'task' | 'probe' | 'file' | 'connection';
const PREFIX = { finished: 'job', running: 'job', task: 'task', probe: 'task', file: 'file', connection: 'conn' } as const;

describe("another tenant's objects answer 404, exactly like ones that do not exist", () => {
  it.each<[string, Addressed, (id: string) => [string, RequestInit?]]>([
    ['GET /jobs/{id}', 'finished', (id) => [`/jobs/${id}`]],
    ['GET /jobs/{id} (running)', 'running', (id) => [`/jobs/${id}`]],
    ['POST /jobs/{id}/cancel', 'running', (id) => [`/jobs/${id}/cancel`, { method: 'POST' }]],
    ['GET /jobs/{id}/events', 'finished', (id) => [`/jobs/${id}/events`]],
    ['GET /jobs/{id}/deliveries', 'finished', (id) => [`/jobs/${id}/deliveries`]],
    ['POST /jobs/{id}/deliveries/redeliver', 'finished', (id) => [`/jobs/${id}/deliveries/redeliver`, { method: 'POST' }]],
    ['GET /tasks/{id}', 'task', (id) => [`/tasks/${id}`]],
    ['GET /tasks/{id} (probe)', 'probe', (id) => [`/tasks/${id}`]],
    [
      'PUT /files/{id}',
      'file',
      (id) => [`/files/${id}`, { method: 'PUT', body: 'overwritten by B', headers: { 'content-type': 'text/plain' } }],
    ],
    ['GET /connections/{id}', 'connection', (id) => [`/connections/${id}`]],
    [
      'PATCH /connections/{id}',
      'connection',
      (id) => [
        `/connections/${id}`,
        {
          method: 'PATCH',
          body: JSON.stringify({ name: 'taken-by-b', is_default: true }),
          headers: { 'content-type': 'application/json' },
        },
      ],
    ],
    ['DELETE /connections/{id}', 'connection', (id) => [`/connections/${id}`, { method: 'DELETE' }]],
  ])('%s', async (_route, object, route) => {
    const { theirs, missing } = await answers(
      (id) => {
        const [path, init] = route(id);
        return api(path, { ...init, key: B });
      },
      owned[object].id,
      newId(PREFIX[object]),
    );
    expect(theirs.status).toBe(404);
    expect(theirs).toEqual(missing);
  });

  it.each<[string, (id: string, url: string) => [string, Record<string, unknown>]]>([
    ['POST /jobs with input: their file id', (id) => ['/jobs', { ...VIDEO_JOB, input: id }]],
    ['POST /jobs with input: their file URL', (_id, url) => ['/jobs', { ...VIDEO_JOB, input: url }]],
    ['POST /tasks with file_id: their file', (id) => ['/tasks', { kind: 'video', file_id: id }]],
  ])('%s', async (_route, body) => {
    const theirFile = owned.file;
    const missingId = newId('file');
    const missingUrl = theirFile.url.replace(theirFile.id, missingId);
    const post = (id: string) => {
      const [path, json] = body(id, id === theirFile.id ? theirFile.url : missingUrl);
      return api(path, { method: 'POST', key: B, json });
    };
    const { theirs, missing } = await answers(post, theirFile.id, missingId);
    expect(theirs.status).toBe(400);
    expect(theirs).toEqual(missing);
  });

  it.each<[string, (id: string) => Record<string, unknown>]>([
    [
      'POST /jobs with connection_id: theirs, for an s3:// input',
      (id) => ({ ...VIDEO_JOB, input: 's3://bucket/in.mov', connection_id: id }),
    ],
    [
      'POST /jobs with connection_id: theirs, for an s3:// output',
      (id) => ({ ...VIDEO_JOB, output: 's3://bucket/out.mp4', connection_id: id }),
    ],
  ])('%s', async (_route, body) => {
    const { theirs, missing } = await answers(
      (id) => api('/jobs', { method: 'POST', key: B, json: body(id) }),
      owned.connection.id,
      newId('conn'),
    );
    expect(theirs.status).toBe(400);
    expect(theirs).toEqual(missing);
  });

  it("leaves the owner's objects as they were", async () => {
    expect(await (await api(`/jobs/${owned.running.id}`, { key: A })).json()).not.toMatchObject({ status: 'cancelled' });
    expect(await (await api(`/jobs/${owned.finished.id}/deliveries`, { key: A })).json()).toHaveLength(1);
    expect(await env.MEDIA.head(`uploads/${owned.file.id}`)).toBeNull();
    const connections = await (await api('/connections', { key: A })).json<{ id: string; name: string; is_default: boolean }[]>();
    expect(connections.find((c) => c.id === owned.connection.id)).toMatchObject({ name: owned.connection.id, is_default: true });
  });

  it("never replays another tenant's job for the same Idempotency-Key", async () => {
    const headers = { 'idempotency-key': `shared-${crypto.randomUUID()}` };
    const json = { ...VIDEO_JOB, metadata: { owner: 'tenant-a' } };
    const theirs = await created<{ id: string }>(api('/jobs', { method: 'POST', key: A, json, headers }));
    const mine = await api('/jobs', { method: 'POST', key: B, json, headers });
    expect(mine.status).toBe(201);
    expect((await mine.json<{ id: string }>()).id).not.toBe(theirs.id);
  });
});

describe("another tenant's objects never show in lists", () => {
  it.each([
    '/jobs',
    '/jobs?limit=100',
    '/jobs?order=asc&limit=100',
    '/jobs?metadata[owner]=tenant-a',
    `/jobs?input=${encodeURIComponent(VIDEO_JOB.input)}&limit=100`,
    '/jobs?status=succeeded&limit=100',
    '/jobs?kind=video&limit=100',
  ])('GET %s', async (path) => {
    const res = await api(path, { key: B });
    expect(res.status).toBe(200);
    const ids = (await res.json<{ id: string }[]>()).map((j) => j.id);
    expect(ids).not.toContain(owned.finished.id);
    expect(ids).not.toContain(owned.running.id);
    const mine = await (await api(path, { key: A })).json<{ id: string }[]>();
    if (path.includes('owner')) expect(mine.map((j) => j.id)).toContain(owned.finished.id);
  });

  it('GET /jobs?after= and ?before= another tenant’s job id list only my jobs', async () => {
    for (const cursor of ['after', 'before']) {
      const ids = (await (await api(`/jobs?${cursor}=${owned.running.id}&limit=100`, { key: B })).json<{ id: string }[]>()).map(
        (j) => j.id,
      );
      expect(ids).not.toContain(owned.finished.id);
      expect(ids).not.toContain(owned.running.id);
    }
  });

  it('GET /connections', async () => {
    expect(await (await api('/connections', { key: B })).text()).not.toContain(owned.connection.id);
  });

  it.each(['/tasks?limit=100', '/tasks?order=asc&limit=100', '/tasks?kind=probe&limit=100', '/tasks?metadata[owner]=tenant-a'])(
    'GET %s',
    async (path) => {
      const res = await api(path, { key: B });
      expect(res.status).toBe(200);
      const ids = (await res.json<{ id: string }[]>()).map((t) => t.id);
      expect(ids).not.toContain(owned.task.id);
      expect(ids).not.toContain(owned.probe.id);
      const mine = (await (await api(path, { key: A })).json<{ id: string }[]>()).map((t) => t.id);
      expect(mine).toContain(owned.probe.id);
    },
  );
});

describe('webhook signatures', () => {
  it("A's webhook does not verify with B's secret, and verifies with A's own", async () => {
    const [hook] = await hooksOf(owned.hook);
    // B is the dev tenant: its secret is the documented one (WEBHOOK_SECRET_TENANT pins it).
    expect(() => new Webhook(env.WEBHOOK_SECRET!).verify(hook!.body, hook!.headers)).toThrow('No matching signature found');
    const secretA = await (await api('/webhooks/secret', { key: A })).json<WebhookSecret>();
    const secretB = await (await api('/webhooks/secret', { key: B })).json<WebhookSecret>();
    expect(secretB.secret).toBe(env.WEBHOOK_SECRET);
    expect(secretA.secret).not.toBe(secretB.secret);
    expect(new Webhook(secretA.secret).verify(hook!.body, hook!.headers)).toMatchObject({
      id: owned.finished.id,
      metadata: { owner: 'tenant-a' },
    });
  });

  it("B's webhook does not verify with A's secret, and verifies with B's own", async () => {
    const name = `tenant-b-${crypto.randomUUID()}`;
    const job = await finishedJob(B, name, { owner: 'tenant-b' });
    const [hook] = await hooksOf(name);
    const secretA = await (await api('/webhooks/secret', { key: A })).json<WebhookSecret>();
    expect(() => new Webhook(secretA.secret).verify(hook!.body, hook!.headers)).toThrow('No matching signature found');
    expect(new Webhook(env.WEBHOOK_SECRET!).verify(hook!.body, hook!.headers)).toMatchObject({ id: job.id });
  });

  it('no other response carries either secret', async () => {
    const secrets = await Promise.all(
      [A, B].map(async (key) => (await (await api('/webhooks/secret', { key })).json<WebhookSecret>()).secret),
    );
    const reads = [
      `/jobs/${owned.finished.id}`,
      `/jobs/${owned.finished.id}/events`,
      `/jobs/${owned.finished.id}/deliveries`,
      `/tasks/${owned.task.id}`,
      '/jobs?limit=100',
      '/connections',
    ];
    for (const path of reads) {
      const text = await (await api(path, { key: A })).text();
      for (const secret of secrets) {
        expect(text).not.toContain(secret);
        expect(text).not.toContain(secret.slice('whsec_'.length));
      }
    }
    const openapi = await (await api('/openapi.json', { key: null })).text();
    for (const secret of secrets) expect(openapi).not.toContain(secret.slice('whsec_'.length));
  });
});
