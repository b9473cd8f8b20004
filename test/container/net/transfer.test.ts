import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_LIMITS, limitsFromEnv } from '../../../container/limits.ts';
import { downloadToFile, uploadFile } from '../../../container/net/transfer.ts';
import { workDir } from '../../support/inspect.ts';

let server: Server;
let base = '';
const puts: { headers: Record<string, unknown>; bytes: number }[] = [];
/** Requests the server has not answered yet, answered when the test is done with them. */
const heldRequests: (() => void)[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/file') return void res.writeHead(200, { 'content-length': '5' }).end('hello');
    if (url === '/redirect-private') return void res.writeHead(302, { location: 'http://10.0.0.1/secret' }).end();
    if (url === '/redirect-metadata') return void res.writeHead(301, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    if (url === '/redirect-ok') return void res.writeHead(302, { location: '/file' }).end();
    if (url === '/no-headers-yet') {
      heldRequests.push(() => res.writeHead(404).end());
      return;
    }
    if (url === '/trickle') {
      // One byte at a time, each well inside the socket idle timeout: alive, but never finishing.
      res.writeHead(200, { 'content-length': '1000' });
      const timer = setInterval(() => res.write('x'), 50);
      res.on('close', () => clearInterval(timer));
      return;
    }
    if (url === '/steady') {
      // Fast enough for any rate floor, far too slow for the million bytes it declares.
      res.writeHead(200, { 'content-length': '1000000' });
      const timer = setInterval(() => res.write(Buffer.alloc(500)), 10);
      res.on('close', () => clearInterval(timer));
      return;
    }
    if (url === '/endless') {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024);
      const timer = setInterval(() => res.write(chunk), 1);
      res.on('close', () => clearInterval(timer));
      return;
    }
    if (req.method === 'PUT') {
      let bytes = 0;
      req.on('data', (c: Buffer) => (bytes += c.length));
      req.on('end', () => {
        puts.push({ headers: req.headers, bytes });
        res.writeHead(url === '/fail' ? 403 : 200).end();
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  for (const answer of heldRequests.splice(0)) answer();
  return new Promise<void>((r) => server.close(() => r()));
});

/** Default pacing limits with a 100-byte input cap. */
const tiny = { ...DEFAULT_LIMITS, maxInputBytes: 100 };

describe('downloadToFile', () => {
  it('streams the input to disk, following a redirect on the same host', async () => {
    const path = join(await workDir(), 'in');
    const result = await downloadToFile({ url: `${base}/redirect-ok`, path, limits: tiny, allowLoopback: true });
    expect(result).toMatchObject({ ok: true, bytes: 5 });
    expect(await readFile(path, 'utf8')).toBe('hello');
  });

  it.each(['/redirect-private', '/redirect-metadata'])('refuses a redirect to a private or metadata address (%s)', async (route) => {
    const result = await downloadToFile({ url: `${base}${route}`, path: join(await workDir(), 'x'), limits: tiny, allowLoopback: true });
    expect(result).toMatchObject({ ok: false, error: { kind: 'invalid_input' } });
    expect(!result.ok && result.error.message).toMatch(/not allowed/);
  });

  it('refuses loopback unless development allows it', async () => {
    const result = await downloadToFile({ url: `${base}/file`, path: join(await workDir(), 'x'), limits: tiny, allowLoopback: false });
    expect(result).toMatchObject({ ok: false, error: { kind: 'invalid_input' } });
  });

  it('stops an endless body at the byte limit with input_too_large', async () => {
    const path = join(await workDir(), 'big');
    const result = await downloadToFile({
      url: `${base}/endless`,
      path,
      limits: { ...DEFAULT_LIMITS, maxInputBytes: 1024 * 1024 },
      allowLoopback: true,
    });
    expect(result).toMatchObject({ ok: false, error: { kind: 'input_too_large' } });
  });

  it('reports a cancel that lands before the response headers as cancelled, not as an unreachable input', async () => {
    const abort = new AbortController();
    const pending = downloadToFile({
      url: `${base}/no-headers-yet`,
      path: join(await workDir(), 'x'),
      limits: tiny,
      allowLoopback: true,
      signal: abort.signal,
    });
    await vi.waitFor(() => expect(heldRequests).toHaveLength(1));
    abort.abort();
    expect(await pending).toEqual({ ok: false, error: { kind: 'cancelled', message: 'The job was cancelled.' } });
  });

  it('says which status a missing input answered', async () => {
    const result = await downloadToFile({ url: `${base}/missing`, path: join(await workDir(), 'x'), limits: tiny, allowLoopback: true });
    expect(result).toMatchObject({ ok: false, error: { kind: 'input_unreachable' } });
    expect(!result.ok && result.error.message).toContain('HTTP 404');
  });
});

describe('downloadToFile paces slow inputs', () => {
  it('stops a server that trickles bytes under the minimum rate, naming the rate and its limit', async () => {
    const limits = limitsFromEnv({ KILN_MIN_INPUT_BYTES_PER_S: '1000', KILN_INPUT_RATE_WINDOW_S: '0.5' });
    const result = await downloadToFile({ url: `${base}/trickle`, path: join(await workDir(), 'x'), limits, allowLoopback: true });
    expect(result).toMatchObject({ ok: false, error: { kind: 'input_unreachable' } });
    expect(!result.ok && result.error.message).toMatch(
      /^The input server at http:\/\/127\.0\.0\.1:\d+\/trickle sent \d+ bytes in the last 0\.5 s, under the minimum of 1000 bytes\/s \(KILN_MIN_INPUT_BYTES_PER_S, over KILN_INPUT_RATE_WINDOW_S = 0\.5 s\)/,
    );
  });

  it('stops a download that outlasts its deadline, scaled to the declared length', async () => {
    const limits = limitsFromEnv({
      KILN_MIN_INPUT_BYTES_PER_S: '1000',
      KILN_INPUT_RATE_WINDOW_S: '0.5',
      KILN_INPUT_DEADLINE_S: '0.5',
      KILN_INPUT_DEADLINE_BYTES_PER_S: '10000000',
    });
    const result = await downloadToFile({ url: `${base}/steady`, path: join(await workDir(), 'x'), limits, allowLoopback: true });
    expect(result).toMatchObject({ ok: false, error: { kind: 'input_unreachable' } });
    expect(!result.ok && result.error.message).toMatch(
      /^Downloading the input from http:\/\/127\.0\.0\.1:\d+\/steady took longer than its 0\.6 s deadline \(KILN_INPUT_DEADLINE_S = 0\.5 s plus 1 s per 10000000 bytes declared, KILN_INPUT_DEADLINE_BYTES_PER_S\); \d+ of 1000000 bytes had arrived/,
    );
  });

  it('applies the deadline while waiting for the response headers too', async () => {
    const limits = limitsFromEnv({ KILN_INPUT_DEADLINE_S: '0.3' });
    const held = heldRequests.length;
    const result = await downloadToFile({ url: `${base}/no-headers-yet`, path: join(await workDir(), 'x'), limits, allowLoopback: true });
    expect(heldRequests.length).toBe(held + 1);
    expect(result).toMatchObject({ ok: false, error: { kind: 'input_unreachable' } });
    expect(!result.ok && result.error.message).toMatch(/took longer than its 0\.3 s deadline .*; 0 bytes had arrived/);
  });
});

describe('uploadFile', () => {
  it('PUTs the file with its exact length and content type', async () => {
    const path = join(await workDir(), 'out.bin');
    await import('node:fs/promises').then((fs) => fs.writeFile(path, Buffer.alloc(300_000, 7)));
    const result = await uploadFile({ path, url: `${base}/ok`, contentType: 'video/mp4', allowLoopback: true });
    expect(result).toMatchObject({ ok: true, bytes: (await stat(path)).size });
    expect(puts.at(-1)).toMatchObject({ bytes: 300_000, headers: { 'content-length': '300000', 'content-type': 'video/mp4' } });
  });

  it('reports output_write_failed when storage refuses, without retrying a 4xx', async () => {
    const before = puts.length;
    const path = join(await workDir(), 'out2.bin');
    await import('node:fs/promises').then((fs) => fs.writeFile(path, 'x'));
    const result = await uploadFile({ path, url: `${base}/fail`, contentType: 'video/mp4', allowLoopback: true });
    expect(result).toMatchObject({ ok: false, error: { kind: 'output_write_failed' } });
    expect(puts.length - before).toBe(1);
  });
});
