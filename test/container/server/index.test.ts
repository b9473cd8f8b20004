import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_LIMITS } from '../../../container/limits.ts';
import { BUSY_RETRY_AFTER_S, createProcessorApp } from '../../../container/server/index.ts';
import { fixture } from '../../support/media.ts';

/** Plays the Worker and storage: serves the input, takes the output PUT, records callbacks. */
let peer: Server;
let base = '';
const events: { type: string; error?: { kind: string } }[] = [];
/** Inputs held open by `/slow`, answered (404) when a test releases them. */
const held: (() => void)[] = [];
const releaseAll = () => held.splice(0).forEach((answer) => answer());

beforeAll(async () => {
  const { readFile } = await import('node:fs/promises');
  const photo = await readFile(fixture('photo.png'));
  peer = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('latin1')));
    req.on('end', () => {
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

function task(jobId: string, input: string) {
  return {
    job_id: jobId,
    attempt: 1,
    kind: 'image',
    options: { width: 64, format: 'webp' },
    input_url: `${base}${input}`,
    output: { url: `${base}/out/${jobId}` },
    callback: { url: `${base}/callback`, token: 't'.repeat(32) },
  };
}

describe('processor service', () => {
  it('answers 202 at once, reports success, and leaves no temp files', async () => {
    const tmpRoot = await mkdtemp(join(tmpdir(), 'kiln-proc-'));
    const { app, active } = createProcessorApp({ concurrency: 1, backlog: 0, limits: DEFAULT_LIMITS, allowLoopback: true, tmpRoot });
    const res = await app.request('/run', { method: 'POST', body: JSON.stringify(task('job_ok', '/photo.png')) });
    expect(res.status).toBe(202);
    await vi.waitFor(() => expect(active.size).toBe(0), { timeout: 20_000 });
    expect(events.at(-1)).toMatchObject({ type: 'succeeded' });
    expect(await readdir(tmpRoot)).toEqual([]);
  });

  it('reports a run whose temp folder cannot be made as failed, and keeps serving', async () => {
    const tmpRoot = join(fixture('photo.png'), 'not-a-folder');
    const { app, active } = createProcessorApp({ concurrency: 1, backlog: 0, limits: DEFAULT_LIMITS, allowLoopback: true, tmpRoot });
    const before = events.length;
    expect((await app.request('/run', { method: 'POST', body: JSON.stringify(task('job_disk', '/photo.png')) })).status).toBe(202);
    await vi.waitFor(() => expect(active.size).toBe(0), { timeout: 20_000 });
    const failed = events.slice(before).find((e) => e.type === 'failed');
    expect(failed).toMatchObject({ error: { kind: 'processing_failed' } });
    expect((await app.request('/health')).status).toBe(200);
  });

  it('answers 503 with Retry-After when every slot and waiting place is taken', async () => {
    const tmpRoot = await mkdtemp(join(tmpdir(), 'kiln-proc-'));
    const { app, active } = createProcessorApp({ concurrency: 1, backlog: 1, limits: DEFAULT_LIMITS, allowLoopback: true, tmpRoot });
    const first = await app.request('/run', { method: 'POST', body: JSON.stringify(task('job_a', '/slow')) });
    const second = await app.request('/run', { method: 'POST', body: JSON.stringify(task('job_b', '/slow')) });
    const third = await app.request('/run', { method: 'POST', body: JSON.stringify(task('job_c', '/slow')) });
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

  it('refuses a malformed task with 400 naming the fields', async () => {
    const { app } = createProcessorApp({ concurrency: 1, backlog: 0, limits: DEFAULT_LIMITS, allowLoopback: true, tmpRoot: tmpdir() });
    const res = await app.request('/run', { method: 'POST', body: JSON.stringify({ job_id: 'job_x', input_url: 'not a url' }) });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { issues: { path: string }[] };
    expect(body.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['input_url', 'kind', 'callback']));
  });

  it('reports ffmpeg and sharp versions on /health', async () => {
    const { app } = createProcessorApp({ concurrency: 2, backlog: 16, limits: DEFAULT_LIMITS, allowLoopback: true, tmpRoot: tmpdir() });
    const health = await (await app.request('/health')).json();
    expect(health).toMatchObject({ status: 'ok', ffmpeg: expect.stringMatching(/^\d/), sharp: expect.stringMatching(/^\d/), concurrency: 2, backlog: 16 });
  });
});
