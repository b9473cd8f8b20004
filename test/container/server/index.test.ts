import { mkdtemp, readdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_LIMITS } from '../../../container/limits.ts';
import {
  answerClientErrors,
  BUSY_RETRY_AFTER_S,
  createMisconfiguredApp,
  createProcessorApp,
  type ProcessorOptions,
} from '../../../container/server/index.ts';
import { readSettings } from '../../../container/settings.ts';
import { fixture } from '../../support/media.ts';

/** Plays the Worker and storage: serves the input, takes the output PUT, records callbacks. */
let peer: Server;
let base = '';
const events: { type: string; error?: { kind: string } }[] = [];
/** Requests for fresh URLs (`/fresh/{answer}`), and how often each path was fetched. */
const refreshes: { url: string; authorization: string | undefined; body: unknown }[] = [];
const fetched: Record<string, number> = {};
/** Inputs held open by `/slow`, answered (404) when a test releases them. */
const held: (() => void)[] = [];
const releaseAll = () => {
  for (const answer of held.splice(0)) answer();
};

beforeAll(async () => {
  const { readFile } = await import('node:fs/promises');
  const photo = await readFile(fixture('photo.png'));
  peer = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('latin1')));
    req.on('end', () => {
      fetched[req.url ?? ''] = (fetched[req.url ?? ''] ?? 0) + 1;
      // What an expired presigned URL gets from storage.
      if (req.url === '/expired')
        return void res.writeHead(403).end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
      if (req.url?.startsWith('/fresh/')) {
        refreshes.push({ url: req.url, authorization: req.headers.authorization, body: JSON.parse(body) });
        if (req.url === '/fresh/gone') return void res.writeHead(409).end('{"kind":"cancelled","message":"Stop this run"}');
        const fresh = { input_url: `${base}/photo.png`, output: { type: 'file', url: `${base}/out/fresh` } };
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(fresh));
      }
      if (req.url === '/photo.png') return void res.writeHead(200, { 'content-length': photo.length }).end(photo);
      if (req.url === '/slow') {
        held.push(() => res.writeHead(404).end());
        return;
      }
      if (req.url === '/callback') {
        events.push(JSON.parse(body));
        return void res.writeHead(200).end('{}');
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(peer.address() as AddressInfo).port}`;
});
afterAll(() => {
  releaseAll();
  return new Promise<void>((r) => peer.close(() => r()));
});

const SECRET = 'test-processor-secret-0123456789';

function processor(opts: Partial<ProcessorOptions> = {}) {
  return createProcessorApp({
    concurrency: 1,
    backlog: 0,
    limits: DEFAULT_LIMITS,
    allowLoopback: true,
    tmpRoot: tmpdir(),
    secret: SECRET,
    ...opts,
  });
}

/** POST /run as the Worker sends it: JSON with the shared secret as bearer token. */
function run(app: ReturnType<typeof processor>['app'], body: unknown, secret = SECRET) {
  return app.request('/run', { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: JSON.stringify(body) });
}

/** A valid job id (job_ + 26 base32 characters) ending in `tag`. */
const jobId = (tag: string) => `job_${tag.padStart(26, '0')}`;

function task(id: string, input: string) {
  return {
    job_id: jobId(id),
    attempt: 1,
    kind: 'image',
    options: { width: 64, format: 'webp' },
    input_url: `${base}${input}`,
    output: { type: 'file', url: `${base}/out/${id}` },
    callback: { url: `${base}/callback`, token: 't'.repeat(32) },
  };
}

describe('processor service', () => {
  it('takes a group on POST /run-group as one run in one slot, and answers as POST /run does', async () => {
    const tmpRoot = await mkdtemp(join(tmpdir(), 'kiln-proc-'));
    const { app, active } = processor({ concurrency: 1, backlog: 0, tmpRoot });
    const post = (body: unknown, secret = SECRET) =>
      app.request('/run-group', { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: JSON.stringify(body) });
    const before = fetched['/photo.png'] ?? 0;
    const seen = events.length;
    const group = { tasks: [task('g1', '/photo.png'), { ...task('g2', '/photo.png'), options: { width: 32, format: 'png' } }] };
    expect((await post(group, 'wrong-secret-0123456789')).status).toBe(401);
    const res = await post(group);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: true, jobs: group.tasks.map((t) => ({ job_id: t.job_id, attempt: 1 })) });
    // The group holds the one slot: a single run or another group waits its turn elsewhere.
    const busy = await run(app, task('after', '/photo.png'));
    expect([busy.status, busy.headers.get('retry-after')]).toEqual([503, String(BUSY_RETRY_AFTER_S)]);
    expect((await post(group)).status).toBe(503);
    const bad = await post({ tasks: [group.tasks[0]] });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ kind: 'invalid_input', issues: [{ path: 'tasks' }] });
    await vi.waitFor(() => expect(active.size).toBe(0), { timeout: 20_000 });
    expect(events.slice(seen).filter((e) => e.type === 'succeeded')).toHaveLength(2);
    expect((fetched['/photo.png'] ?? 0) - before).toBe(1);
    expect(await readdir(tmpRoot)).toEqual([]);
  });

  it('answers 202 at once, reports success, and leaves no temp files', async () => {
    const tmpRoot = await mkdtemp(join(tmpdir(), 'kiln-proc-'));
    const { app, active } = processor({ concurrency: 1, backlog: 0, tmpRoot });
    const res = await run(app, task('ok', '/photo.png'));
    expect(res.status).toBe(202);
    await vi.waitFor(() => expect(active.size).toBe(0), { timeout: 20_000 });
    expect(events.at(-1)).toMatchObject({ type: 'succeeded' });
    expect(await readdir(tmpRoot)).toEqual([]);
  });

  it('runs a task in the shape a Worker older than the output type sends', async () => {
    const { app, active } = processor({ concurrency: 1, backlog: 0 });
    const old = task('older', '/photo.png');
    const res = await run(app, { ...old, output: { url: old.output.url } });
    expect(res.status).toBe(202);
    await vi.waitFor(() => expect(active.size).toBe(0), { timeout: 20_000 });
    expect(events.at(-1)).toMatchObject({ type: 'succeeded' });
  });

  it('runs the standalone kinds: a probe with no output, a copy to a file', async () => {
    const tmpRoot = await mkdtemp(join(tmpdir(), 'kiln-proc-'));
    const { app, active } = processor({ concurrency: 1, backlog: 1, tmpRoot });
    const before = events.length;
    const probe = { ...task('probe', '/photo.png'), kind: 'probe', options: {}, output: { type: 'none' } };
    const copy = { ...task('copy', '/photo.png'), kind: 'copy', options: {} };
    expect((await run(app, probe)).status).toBe(202);
    expect((await run(app, copy)).status).toBe(202);
    await vi.waitFor(() => expect(active.size).toBe(0), { timeout: 20_000 });
    const finished = events.slice(before).filter((e) => e.type !== 'progress');
    expect(finished).toEqual([
      expect.objectContaining({ type: 'succeeded', output: expect.objectContaining({ type: 'image/png', width: 2000, height: 1500 }) }),
      expect.objectContaining({ type: 'succeeded', output: expect.objectContaining({ type: 'image/png', width: 2000, height: 1500 }) }),
    ]);
    expect(fetched['/out/probe']).toBeUndefined();
    expect(fetched['/out/copy']).toBe(1);
    expect(await readdir(tmpRoot)).toEqual([]);
  });

  it('reports a run whose temp folder cannot be made as failed, and keeps serving', async () => {
    const tmpRoot = join(fixture('photo.png'), 'not-a-folder');
    const { app, active } = processor({ concurrency: 1, backlog: 0, tmpRoot });
    const before = events.length;
    expect((await run(app, task('disk', '/photo.png'))).status).toBe(202);
    await vi.waitFor(() => expect(active.size).toBe(0), { timeout: 20_000 });
    const failed = events.slice(before).find((e) => e.type === 'failed');
    expect(failed).toMatchObject({ error: { kind: 'processing_failed' } });
    expect((await app.request('/health')).status).toBe(200);
  });

  it('answers 503 with Retry-After when every slot and waiting place is taken', async () => {
    const tmpRoot = await mkdtemp(join(tmpdir(), 'kiln-proc-'));
    const { app, active } = processor({ concurrency: 1, backlog: 1, tmpRoot });
    const first = await run(app, task('a', '/slow'));
    const second = await run(app, task('b', '/slow'));
    const third = await run(app, task('c', '/slow'));
    expect([first.status, second.status, third.status]).toEqual([202, 202, 503]);
    expect(third.headers.get('retry-after')).toBe(String(BUSY_RETRY_AFTER_S));
    expect(await third.json()).toMatchObject({ kind: 'processor_busy' });
    await vi.waitFor(() => expect(held.length).toBe(1));
    releaseAll();
    await vi.waitFor(() => expect(held.length).toBe(1), { timeout: 20_000 });
    expect(active.size).toBe(1);
    releaseAll();
    await vi.waitFor(() => expect(active.size).toBe(0), { timeout: 20_000 });
  });

  it('a run that waited for a slot asks for fresh URLs as it starts; one that did not uses its own', async () => {
    const { app, active } = processor({ concurrency: 1, backlog: 1 });
    const before = events.length;
    const first = { ...task('ahead', '/slow'), refresh_url: `${base}/fresh/ahead` };
    // Its URLs expired while it waited: only the fresh ones work.
    const waiting = { ...task('waited', '/expired'), attempt: 3, refresh_url: `${base}/fresh/waited` };
    expect((await run(app, first)).status).toBe(202);
    expect((await run(app, waiting)).status).toBe(202);
    await vi.waitFor(() => expect(held.length).toBe(1));
    releaseAll();
    await vi.waitFor(() => expect(active.size).toBe(0), { timeout: 20_000 });
    expect(refreshes).toEqual([{ url: '/fresh/waited', authorization: `Bearer ${'t'.repeat(32)}`, body: { attempt: 3 } }]);
    expect(fetched['/expired']).toBeUndefined();
    expect(fetched['/out/fresh']).toBe(1);
    expect(events.slice(before).map((e) => e.type)).toContain('succeeded');
  });

  it('a run that waited stops without downloading when the Worker no longer wants it (409)', async () => {
    const { app, active } = processor({ concurrency: 1, backlog: 1 });
    const before = events.length;
    expect((await run(app, task('ahead2', '/slow'))).status).toBe(202);
    expect((await run(app, { ...task('gone', '/expired'), refresh_url: `${base}/fresh/gone` })).status).toBe(202);
    await vi.waitFor(() => expect(held.length).toBe(1));
    releaseAll();
    await vi.waitFor(() => expect(active.size).toBe(0), { timeout: 20_000 });
    expect(fetched['/expired']).toBeUndefined();
    expect(
      events
        .slice(before)
        .filter((e) => e.type === 'failed')
        .map((e) => e.error?.kind),
    ).toEqual(['input_unreachable', 'cancelled']);
  });

  it('refuses a malformed task with 400 naming the fields', async () => {
    const { app } = processor({ concurrency: 1, backlog: 0 });
    const res = await run(app, { job_id: 'job_x', input_url: 'not a url' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { issues: { path: string }[] };
    expect(body.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['job_id', 'input_url', 'kind', 'callback']));
  });

  it('refuses /run without the shared secret, or with a wrong one, before reading the task', async () => {
    const { app, active } = processor();
    const unsigned = await app.request('/run', { method: 'POST', body: JSON.stringify(task('anon', '/photo.png')) });
    const wrong = await run(app, task('wrong', '/photo.png'), `${SECRET}x`);
    const prefix = await run(app, task('prefix', '/photo.png'), SECRET.slice(0, -1));
    for (const res of [unsigned, wrong, prefix]) {
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ kind: 'unauthorized', message: expect.stringContaining('PROCESSOR_SECRET') });
    }
    expect(active.size).toBe(0);
  });

  it('refuses a job id that would leave the temp folder, and creates nothing outside it', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'kiln-proc-'));
    const tmpRoot = join(parent, 'root');
    const { app, active } = processor({ tmpRoot });
    for (const id of ['../escape', 'job_../../x', `job_${'a'.repeat(25)}/`, 'job_ABCDEFGHJKMNPQRSTVWXYZ012']) {
      const res = await run(app, { ...task('x', '/photo.png'), job_id: id });
      expect(res.status, id).toBe(400);
      expect(((await res.json()) as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual(['job_id']);
    }
    expect(active.size).toBe(0);
    expect(await readdir(parent)).toEqual([]);
  });

  it('refuses a callback token that cannot travel in an Authorization header, instead of running a job that can never report', async () => {
    const { app, active } = processor();
    for (const token of ['line\nbreak-in-a-token', `${'é'.repeat(16)}`, `${'t'.repeat(16)} space`, 't'.repeat(513)]) {
      const res = await run(app, { ...task('token', '/photo.png'), callback: { url: `${base}/callback`, token } });
      expect(res.status, JSON.stringify(token)).toBe(400);
      expect(((await res.json()) as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual(['callback.token']);
    }
    expect(active.size).toBe(0);
  });

  it('answers an unknown path or method with the JSON not_found envelope', async () => {
    const { app } = processor();
    for (const [method, path] of [
      ['GET', '/'],
      ['POST', '/run/'],
      ['GET', '/run'],
    ] as const) {
      const res = await app.request(path, { method, headers: { authorization: `Bearer ${SECRET}` } });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(await res.json()).toEqual({
        kind: 'not_found',
        message: 'No such route; the processor serves POST /run, POST /run-group and GET /health.',
      });
    }
  });

  it('answers what Node refuses before the app (headers over 16 KB, bytes that are not HTTP) with the JSON envelope', async () => {
    const { app } = processor();
    const server = await new Promise<ServerType>((ready) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => ready(s));
    });
    answerClientErrors(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const huge = await fetch(`${url}/run`, { method: 'POST', headers: { authorization: `Bearer ${'x'.repeat(20_000)}` }, body: '{}' });
      expect(huge.status).toBe(431);
      expect(huge.headers.get('content-type')).toBe('application/json');
      expect(await huge.json()).toEqual({ kind: 'payload_too_large', message: 'The request headers are over 16 KB.' });
      const raw = await new Promise<string>((resolve) => {
        const socket = connect((server.address() as AddressInfo).port, '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
        let answer = '';
        socket.on('data', (c: Buffer) => (answer += c.toString()));
        socket.on('close', () => resolve(answer));
      });
      expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toEqual({
        kind: 'invalid_input',
        message: 'The request is not valid HTTP.',
        issues: [{ path: 'request', message: 'The request is not valid HTTP.' }],
      });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('reports ffmpeg and sharp versions on /health', async () => {
    const { app } = processor({ concurrency: 2, backlog: 16 });
    const health = await (await app.request('/health')).json();
    expect(health).toMatchObject({
      status: 'ok',
      ffmpeg: expect.stringMatching(/^\d/),
      sharp: expect.stringMatching(/^\d/),
      concurrency: 2,
      backlog: 16,
    });
  });

  it('checks ffmpeg again on the next /health after a failed check, so one slow start does not leave it degraded for good', async () => {
    const path = process.env.PATH;
    process.env.PATH = await mkdtemp(join(tmpdir(), 'no-ffmpeg-'));
    let app: ReturnType<typeof processor>['app'];
    try {
      ({ app } = processor());
      const first = await app.request('/health');
      expect(first.status).toBe(503);
      expect(await first.json()).toMatchObject({ status: 'degraded', ffmpeg: 'missing' });
    } finally {
      process.env.PATH = path;
    }
    const second = await app.request('/health');
    expect(second.status).toBe(200);
    expect(await second.json()).toMatchObject({ status: 'ok', ffmpeg: expect.stringMatching(/^\d/) });
  });
});

describe('processor settings', () => {
  it('reads the Dockerfile defaults when only the secret is set', () => {
    const read = readSettings({ KILN_PROCESSOR_SECRET: SECRET });
    expect(read).toMatchObject({
      ok: true,
      settings: { port: 8080, concurrency: 2, backlog: 16, allowLoopback: false, secret: SECRET, limits: DEFAULT_LIMITS },
    });
  });

  it('names every bad variable at once', () => {
    const read = readSettings({
      KILN_CONCURRENCY: '0',
      KILN_BACKLOG: 'many',
      KILN_MAX_INPUT_BYTES: 'lots',
      KILN_PROCESSOR_SECRET: 'short',
      PORT: '9000',
    });
    expect(read.ok).toBe(false);
    if (read.ok) return;
    expect(read.listen.port).toBe(9000);
    expect(read.problems.join('\n')).toMatch(
      /KILN_CONCURRENCY[\s\S]*KILN_BACKLOG[\s\S]*KILN_MAX_INPUT_BYTES[\s\S]*KILN_PROCESSOR_SECRET is shorter/,
    );
  });

  it('refuses a port outside 1–65535, which would crash the listener', () => {
    const read = readSettings({ KILN_PROCESSOR_SECRET: SECRET, PORT: '70000' });
    expect(read.ok ? [] : read.problems).toEqual([expect.stringContaining('PORT must be an integer from 1 to 65535')]);
  });

  it('refuses to run tasks without a secret', () => {
    const read = readSettings({});
    expect(read.ok).toBe(false);
    expect(read.ok ? [] : read.problems).toEqual([expect.stringContaining('KILN_PROCESSOR_SECRET is not set')]);
  });

  it('a misconfigured processor answers every task with the problem, and /health with 503', async () => {
    const app = createMisconfiguredApp(['KILN_BACKLOG must be an integer ≥ 0, but is "many".']);
    const res = await app.request('/run', { method: 'POST', body: '{}' });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({
      kind: 'processor_unavailable',
      message: expect.stringContaining('KILN_BACKLOG must be an integer'),
    });
    const health = await app.request('/health');
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'misconfigured', problems: [expect.stringContaining('KILN_BACKLOG')] });
  });
});
