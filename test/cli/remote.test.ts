import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseCli } from '../../cli/args.ts';
import { runRemote } from '../../cli/remote.ts';
import { classifyHost } from '../../common/address.ts';
import { fixture } from '../support/media.ts';

/**
 * An address of this machine that the processor's SSRF guard refuses: a private interface
 * (10/8, 172.16/12, 192.168/16) when there is one, else the unspecified address 0.0.0.0, which
 * the guard also refuses and which still reaches this machine.
 */
function privateAddress(): string {
  const addresses = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  const own = addresses.find((a) => a.family === 'IPv4' && !a.internal && classifyHost(a.address) === 'forbidden');
  return own?.address ?? '0.0.0.0';
}

let server: Server;
let base = '';
const requests: { method: string; url: string; bytes: number; length: string | undefined; type: string | undefined }[] = [];
/** What storage answers the PUT: 200, or S3's answer to a Content-Type other than the signed one. */
let putRefused = false;

beforeAll(async () => {
  const host = privateAddress();
  server = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        bytes,
        length: req.headers['content-length'],
        type: req.headers['content-type'],
      });
      const reply = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      const route = `${req.method} ${req.url}`;
      if (route === 'POST /uploads') reply(201, { file: { id: 'file_1' }, upload_url: `${base}/files/file_1` });
      else if (route === 'PUT /files/file_1' && putRefused)
        res.writeHead(403).end('<?xml version="1.0"?><Error><Code>SignatureDoesNotMatch</Code><Message>…</Message></Error>');
      else if (route === 'PUT /files/file_1') res.writeHead(200).end();
      else if (route === 'POST /jobs')
        reply(201, { id: 'job_1', kind: 'image', status: 'queued', progress: 0, input: 'file_1', tasks: [] });
      else reply(404, { kind: 'not_found', message: 'No such route.' });
    });
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  base = `http://${host}:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.close();
});

describe('kiln CLI remote mode', () => {
  test("uploads to a self-hosted Kiln on a private address, which is the user's choice and not an SSRF target", async () => {
    const photo = fixture('photo.png');
    const outcome = await runRemote(parseCli(['image', '-i', photo, '--async']), base, 'kiln_dev_key', new AbortController().signal);
    expect(outcome).toMatchObject({ ok: true, lines: [expect.stringMatching(/^job_1 /)] });
    const { size } = await stat(photo);
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /uploads', 'PUT /files/file_1', 'POST /jobs']);
    expect(requests[1]).toMatchObject({ bytes: size, length: String(size), type: 'image/png' });
  });

  test('says which Content-Type the upload URL accepts when storage refuses the signature', async () => {
    putRefused = true;
    const outcome = await runRemote(
      parseCli(['image', '-i', fixture('photo.png'), '--async']),
      base,
      'kiln_dev_key',
      new AbortController().signal,
    );
    putRefused = false;
    expect(outcome).toMatchObject({
      ok: false,
      error: {
        kind: 'output_write_failed',
        message: expect.stringMatching(
          /failed with HTTP 403\. Storage refused the signature: the upload URL accepts only Content-Type: image\/png, as declared to POST \/uploads\.$/,
        ),
      },
    });
  });
});

describe('kiln CLI remote mode: HLS download', () => {
  let hostile: Server;
  let hostileBase = '';
  /** The master playlist the fake Kiln serves for the current test. */
  let playlist = '';

  beforeAll(async () => {
    hostile = createServer((req, res) => {
      const url = req.url ?? '/';
      if (req.method === 'POST' && url === '/jobs') {
        const output = { ...HLS_INFO, object: 'file', id: 'file_1', url: `${hostileBase}/out/master.m3u8` };
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ id: 'job_1', object: 'job', kind: 'adaptive_video', status: 'succeeded', progress: 100, output, tasks: [] }),
        );
      } else if (url === '/out/master.m3u8') res.writeHead(200).end(playlist);
      else if (url.startsWith('/out/')) res.writeHead(200).end('#EXTM3U\n');
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => hostile.listen(0, '127.0.0.1', r));
    hostileBase = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    hostile.close();
  });

  /** Downloads to <temp>/a/b/hls a master playlist naming `entry(temp)`; lists every file written under <temp>. */
  async function download(entry: (root: string) => string) {
    const root = await mkdtemp(join(tmpdir(), 'kiln-hls-'));
    try {
      playlist = `#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n${entry(root)}\n`;
      const argv = ['adaptive_video', '-i', 'https://example.com/clip.mov', '-o', join(root, 'a', 'b', 'hls')];
      const outcome = await runRemote(parseCli(argv), hostileBase, 'kiln_dev_key', new AbortController().signal);
      const written = (await readdir(root, { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile())
        .map((e) => relative(root, join(e.parentPath, e.name)));
      return { outcome, written };
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }

  test('keeps the renditions in their folders under -o', async () => {
    const { outcome, written } = await download(() => '720p/index.m3u8');
    expect(outcome).toMatchObject({ ok: true });
    expect(written.sort()).toEqual([join('a', 'b', 'hls', '720p', 'index.m3u8'), join('a', 'b', 'hls', 'master.m3u8')]);
  });

  test.each<[string, (root: string) => string]>([
    ['a parent folder', () => '..%2F..%2Fescaped.ts'],
    ['a parent folder after a rendition', () => '720p%2F..%2F..%2F..%2Fescaped.ts'],
    ['backslashes', () => '..%5C..%5Cescaped.ts'],
    ['an absolute path', (root) => encodeURIComponent(join(root, 'escaped.ts'))],
    ['a NUL', () => 'seg%00.ts'],
    ['a drive', () => 'C%3Aescaped.ts'],
    ['malformed percent-encoding', () => '%E0%A4%A.ts'],
  ])('refuses a playlist entry with %s and writes nothing outside -o', async (_what, entry) => {
    const { outcome, written } = await download(entry);
    expect(outcome).toEqual({
      ok: false,
      error: {
        kind: 'output_write_failed',
        message: expect.stringMatching(/^The server's playlist names ".+", which is not a plain file name once decoded/),
      },
    });
    expect(written.every((path) => path.startsWith(join('a', 'b', 'hls')))).toBe(true);
  });
});

const HLS_INFO = {
  kind: 'video',
  format: 'hls',
  type: 'application/vnd.apple.mpegurl',
  width: 1280,
  height: 720,
  duration: 2,
  fps: 30,
  bitrate: 1_000_000,
  filesize: 100,
  codecs: { video: 'h264' },
  has_audio: false,
  rotation: 0,
};
