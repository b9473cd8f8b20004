import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, it } from '@fast-check/vitest';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, vi } from 'vitest';
import { DEFAULT_LIMITS } from '../../../container/limits.ts';
import { answerClientErrors, createProcessorApp } from '../../../container/server/index.ts';
import { OptionsByKind } from '../../../schemas/options.ts';
import { ProcessorTask, RunKind } from '../../../schemas/processor.ts';
import {
  contentType,
  describeRequest,
  envelopeProblems,
  type FuzzRequest,
  fromZod,
  fuzzRuns,
  garbageBody,
  headerValue,
  oddString,
  perturbed,
  printable,
} from '../../support/fuzz.ts';

/**
 * The processor's HTTP server, started for real on a port, under schema-derived and garbage
 * `POST /run` requests and odd requests to any path: no 5xx but the documented `503
 * processor_busy`, every error the JSON envelope, and afterwards every accepted run has reported
 * how it ended and /health still answers. Inputs point at a local server answering garbage, 404
 * or nothing, so no run starts a real encode.
 */
const RUNS = fuzzRuns(60, process.env);
const SECRET = 'fuzz-processor-secret-0123456789';
/** A property's time limit grows with its runs: vitest's own would stop it mid-run, with requests still being sent. */
const TIMEOUT_MS = 30_000 + RUNS * 1_000;

let peer: Server;
let peerBase = '';
let processor: ServerType;
let base = '';
let active: Set<Promise<void>>;
let tmpRoot = '';
/** The terminal events the runs reported, by job id. */
const finished = new Map<string, string>();
const accepted = new Set<string>();
const counts = new Map<string, number>();

beforeAll(async () => {
  const junk = randomBytes(64 * 1024);
  peer = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('latin1')));
    req.on('end', () => {
      const path = req.url ?? '/';
      if (path.startsWith('/callback/')) {
        const event = JSON.parse(body) as { type: string };
        if (event.type !== 'progress') finished.set(path.slice('/callback/'.length), event.type);
        return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      }
      if (path === '/garbage') return void res.writeHead(200, { 'content-type': 'video/mp4' }).end(junk);
      if (path === '/html') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<svg onload=alert(1)>');
      if (path === '/empty') return void res.writeHead(200).end();
      if (path.startsWith('/out')) return void res.writeHead(200).end();
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r));
  peerBase = `http://127.0.0.1:${(peer.address() as AddressInfo).port}`;

  tmpRoot = await mkdtemp(join(tmpdir(), 'kiln-fuzz-'));
  const created = createProcessorApp({ concurrency: 2, backlog: 16, limits: DEFAULT_LIMITS, allowLoopback: true, tmpRoot, secret: SECRET });
  active = created.active;
  await new Promise<void>((ready) => {
    processor = serve({ fetch: created.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
      base = `http://127.0.0.1:${info.port}`;
      ready();
    });
    answerClientErrors(processor);
  });
});

afterAll(async () => {
  console.log(
    `fuzz (processor): ${[...counts].map(([target, n]) => `${target} ${n}`).join(', ')}; total ${[...counts.values()].reduce((a, b) => a + b, 0)} cases, ${accepted.size} runs accepted`,
  );
  await new Promise<void>((r) => processor.close(() => r()));
  await new Promise<void>((r) => peer.close(() => r()));
});

/**
 * A task as the Worker sends it, with options for its kind (none for probe and copy, now and then
 * some), reading an input that is not media; any output, so mismatched kinds and outputs come too.
 */
const options = (kind: RunKind) =>
  kind === 'probe' || kind === 'copy'
    ? fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fromZod(OptionsByKind.video) })
    : fromZod(OptionsByKind[kind]);

const task = fc.constantFrom(...RunKind.options).chain((kind) =>
  fc.stringMatching(/^job_[0-9a-z]{26}$/).chain((jobId) =>
    fromZod(ProcessorTask, {
      job_id: fc.constant(jobId),
      kind: fc.constant(kind),
      options: options(kind),
      input_url: fc.constantFrom('/garbage', '/html', '/empty', '/missing').map((p) => `${peerBase}${p}`),
      output: fc.constantFrom(
        { type: 'file', url: `${peerBase}/out/file` },
        { url: `${peerBase}/out/old` },
        { type: 'folder', files_url: `${peerBase}/out/folder` },
        { type: 'none' },
      ),
      callback: fc.record({ url: fc.constant(`${peerBase}/callback/${jobId}`), token: fc.string({ minLength: 16, maxLength: 64 }) }),
    }),
  ),
);

const auth = fc.oneof(
  { weight: 6, arbitrary: fc.constant(`Bearer ${SECRET}`) },
  { weight: 1, arbitrary: fc.constantFrom(undefined, '', 'Bearer', `Bearer ${SECRET}x`, SECRET, `bearer ${SECRET}`, `Basic ${SECRET}`) },
  { weight: 1, arbitrary: headerValue.map((v) => `Bearer ${v}`) },
);

const runRequest = fc
  .record({
    body: fc.oneof(
      { weight: 3, arbitrary: task.map((t) => JSON.stringify(t)) },
      { weight: 4, arbitrary: perturbed(task).map((t) => JSON.stringify(t) ?? 'null') },
      { weight: 3, arbitrary: garbageBody(task) },
    ),
    authorization: auth,
    contentType,
    path: fc.oneof(
      { weight: 8, arbitrary: fc.constant('/run') },
      { weight: 1, arbitrary: fc.constantFrom('/run/', '/run?x=1', '/RUN', '//run') },
    ),
  })
  .map((r) =>
    printable({ method: 'POST', path: r.path, headers: { authorization: r.authorization, 'content-type': r.contentType }, body: r.body }),
  );

const anyRequest = fc
  .record({
    method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
    path: fc.oneof(
      fc.constantFrom('/', '/health', '/run', '/health/', '/%ZZ', '/..%2F..', `/${'a'.repeat(10_000)}`),
      oddString.map((s) => `/${encodeURIComponent(s.replace(/[\ud800-\udfff]/g, ''))}`),
    ),
    authorization: auth,
    body: fc.oneof(fc.constant(undefined), garbageBody(task)),
  })
  .map((r) =>
    printable({
      method: r.method,
      path: r.path,
      headers: { authorization: r.authorization },
      body: r.method === 'GET' || r.method === 'HEAD' ? undefined : r.body,
    }),
  );

/** The one 5xx the processor documents: every slot and waiting place taken, retry after a while. */
const busy = (res: Response) => (status: number, body: Record<string, unknown>) =>
  status === 503 && body.kind === 'processor_busy' && res.headers.get('retry-after') !== null;

async function check(target: string, req: FuzzRequest) {
  counts.set(target, (counts.get(target) ?? 0) + 1);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers.set(name, value);
  const res = await fetch(`${base}${req.path}`, { method: req.method, headers, body: req.body ?? null });
  const status = res.status;
  const problems = await envelopeProblems(res, { head: req.method === 'HEAD', allow: busy(res) });
  if (problems.length) throw new Error(`${problems.join('; ')}\nfor ${describeRequest(req)}`);
  if (status === 202 && typeof req.body === 'string') accepted.add((JSON.parse(req.body) as { job_id: string }).job_id);
}

describe('fuzzing the processor', () => {
  it.prop([runRequest], { numRuns: RUNS })('POST /run', (req) => check('POST /run', req), TIMEOUT_MS);

  it.prop([anyRequest], { numRuns: Math.ceil(RUNS / 2) })('any method on any path', (req) => check('any path', req), TIMEOUT_MS);

  it('finishes every accepted run with a reported outcome, leaves no temp files, and still answers /health', async () => {
    await vi.waitFor(() => expect(active.size).toBe(0), { timeout: 50_000, interval: 100 });
    expect(accepted.size).toBeGreaterThan(0);
    // No input is media, so every run that was accepted must report a failure, none stay silent.
    // A run leaves the active set before its last report is acknowledged (the reporter retries
    // it), so the reports get the same wait.
    const silentOrOdd = () =>
      [...accepted].filter((id) => finished.get(id) !== 'failed').map((id) => `${id}: ${finished.get(id) ?? 'nothing'}`);
    await vi.waitFor(() => expect(silentOrOdd()).toEqual([]), { timeout: 50_000, interval: 100 });
    expect(await readdir(tmpRoot)).toEqual([]);
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', active: 0 });
  });
});
