import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
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

describe('kiln CLI remote mode: connections and tasks', () => {
  let api: Server;
  let apiBase = '';
  const seen: { method: string; url: string; body: unknown }[] = [];
  const MY_R2 = { id: 'conn_2', object: 'connection', name: 'my-r2', endpoint: 'https://acc.r2.cloudflarestorage.com', region: 'auto' };
  /** GET /tasks/task_1 answers these in turn, then the last one again. */
  let taskStates: Record<string, unknown>[] = [];

  beforeAll(async () => {
    api = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c));
      req.on('end', () => {
        const url = req.url ?? '/';
        seen.push({ method: req.method ?? '', url, body: text ? JSON.parse(text) : undefined });
        const reply = (status: number, body: unknown) =>
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        const route = `${req.method} ${url}`;
        const connection = { ...MY_R2, access_key_id: 'AKIA', is_default: false, created_at: 1 };
        if (route === 'GET /connections') reply(200, [{ ...connection, id: 'conn_1', name: 'other' }, connection]);
        else if (route === 'POST /connections') reply(201, { ...connection, id: 'conn_3', name: 'new' });
        else if (route === 'DELETE /connections/conn_2') reply(200, { id: 'conn_2', deleted: true });
        else if (route === 'POST /jobs')
          reply(201, { id: 'job_1', object: 'job', kind: 'video', status: 'queued', progress: 0, input: 'x', tasks: [] });
        else if (route === 'POST /tasks') reply(201, { id: 'task_1', object: 'task', kind: 'probe', status: 'waiting', progress: 0 });
        else if (route === 'GET /tasks/task_1') reply(200, taskStates.length > 1 ? taskStates.shift() : taskStates[0]);
        else reply(404, { kind: 'not_found', message: 'No such route.' });
      });
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    apiBase = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    api.close();
  });

  const remote = (argv: string[]) => {
    seen.length = 0;
    return runRemote(parseCli(argv), apiBase, 'kiln_dev_key', new AbortController().signal);
  };

  test('--connection takes a name and sends its id as connection_id', async () => {
    // biome-ignore format: the seed's flags
    const outcome = await remote(['video', '-i', 's3://uploads/clip.mov', '-o', 's3://processed/clip-hd.mp4', '--width', '1920', '--format', 'mp4', '--quality', 'high', '--connection', 'my-r2', '--async']);
    expect(outcome).toMatchObject({ ok: true });
    expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /connections', 'POST /jobs']);
    expect(seen[1]?.body).toEqual({
      input: 's3://uploads/clip.mov',
      kind: 'video',
      options: { width: 1920, format: 'mp4', quality: 'high' },
      output: 's3://processed/clip-hd.mp4',
      connection_id: 'conn_2',
    });
  });

  test('an unknown --connection is invalid_input naming the flag and the connections there are', async () => {
    const outcome = await remote(['video', '-i', 's3://uploads/clip.mov', '--connection', 'nope']);
    expect(outcome).toEqual({
      ok: false,
      error: { kind: 'invalid_input', message: '--connection: No connection named or with id "nope"; yours are other, my-r2' },
    });
    expect(seen.map((r) => r.method)).toEqual(['GET']);
  });

  test("connections add s3 sends Ittybit's fields with kind s3 and a name", async () => {
    // biome-ignore format: kiln CLI arguments read as flag/value pairs
    const outcome = await remote([
      'connections', 'add', 's3', '--name', 'my-r2', '--endpoint', 'https://acc.r2.cloudflarestorage.com', '--region', 'auto',
      '--access-key-id', 'AKIA', '--secret-access-key', 's3cr3t',
    ]);
    expect(outcome).toMatchObject({ ok: true, lines: [expect.stringMatching(/^conn_3 {2}new {2}https:/)] });
    expect(seen[0]).toEqual({
      method: 'POST',
      url: '/connections',
      body: {
        kind: 's3',
        name: 'my-r2',
        endpoint: 'https://acc.r2.cloudflarestorage.com',
        region: 'auto',
        access_key_id: 'AKIA',
        secret_access_key: 's3cr3t',
        is_default: false,
      },
    });
    expect(await remote(['connections', 'add', 'gcs'])).toEqual({
      ok: false,
      error: {
        kind: 'invalid_input',
        message: 'Expected kiln connections add s3 but received "gcs"; Kiln connects S3-compatible storage only',
      },
    });
  });

  test('connections delete takes a name or an id', async () => {
    expect(await remote(['connections', 'delete', 'my-r2'])).toMatchObject({ ok: true, lines: ['deleted conn_2'] });
    expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /connections', 'DELETE /connections/conn_2']);
    expect(await remote(['connections', 'delete', 'conn_2'])).toMatchObject({ ok: true, lines: ['deleted conn_2'] });
  });

  test("task probe POSTs Ittybit's {kind, input} to /tasks and polls the task to its end", async () => {
    const output = { kind: 'video', format: 'mov', width: 1920, height: 1080, duration: 2, url: 'https://example.com/clip.mov' };
    taskStates = [
      { id: 'task_1', object: 'task', kind: 'probe', status: 'processing', progress: 50 },
      { id: 'task_1', object: 'task', kind: 'probe', status: 'succeeded', progress: 100, output },
    ];
    const outcome = await remote(['task', 'probe', '-i', '{"url":"https://example.com/clip.mov"}', '--json']);
    expect(outcome).toMatchObject({ ok: true, json: { id: 'task_1', status: 'succeeded', output } });
    expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /tasks', 'GET /tasks/task_1', 'GET /tasks/task_1']);
    expect(seen[0]?.body).toEqual({ kind: 'probe', input: { url: 'https://example.com/clip.mov' } });
  });

  test('task export sends -o as options.url with the connection, and a failed task says why', async () => {
    const error = { kind: 'output_write_failed', message: 'The bucket refused the write.' };
    taskStates = [{ id: 'task_1', object: 'task', kind: 'export', status: 'failed', progress: 0, error }];
    const file = { kind: 'video', format: 'mp4', url: 'https://kiln.example.com/files/file_1' };
    const argv = ['task', 'export', '-i', JSON.stringify(file), '-o', 's3://processed/clip.mp4', '--connection', 'my-r2'];
    // The failure names the task, so the user can look it up.
    expect(await remote(argv)).toEqual({ ok: false, error, failed: { object: 'task', id: 'task_1' } });
    expect(seen[1]?.body).toEqual({
      kind: 'export',
      input: file,
      options: { url: 's3://processed/clip.mp4', connection_id: 'conn_2' },
    });
  });

  test('an encode task sends an s3:// -o as output, with --metadata and --webhook-url; import refuses -o', async () => {
    const output = { kind: 'video', format: 'mp4', url: 's3://processed/clip-hd.mp4' };
    taskStates = [{ id: 'task_1', object: 'task', kind: 'video', status: 'succeeded', progress: 100, output }];
    // biome-ignore format: kiln CLI arguments read as flag/value pairs
    const argv = ['task', 'video', '-i', '{"url":"https://example.com/clip.mov"}', '-o', 's3://processed/clip-hd.mp4', '--width', '1280',
      '--metadata', 'user_id=u1', '--webhook-url', 'https://example.com/hook'];
    expect(await remote(argv)).toMatchObject({ ok: true });
    expect(seen[0]?.body).toEqual({
      kind: 'video',
      input: { url: 'https://example.com/clip.mov' },
      options: { width: 1280, format: 'mp4' },
      output: 's3://processed/clip-hd.mp4',
      metadata: { user_id: 'u1' },
      webhook_url: 'https://example.com/hook',
    });
    const imported = await remote(['task', 'import', '-i', '{"url":"https://example.com/clip.mov"}', '-o', 's3://processed/clip.mov']);
    expect(imported).toMatchObject({
      ok: false,
      error: { kind: 'invalid_input', message: expect.stringMatching(/^kiln task import stores the file in Kiln/) },
    });
    expect(seen).toEqual([]);
  });

  test('KILN_CONNECTION, then ITTYBIT_CONNECTION, names the connection when --connection is absent', async () => {
    for (const variable of ['KILN_CONNECTION', 'ITTYBIT_CONNECTION']) {
      vi.stubEnv(variable, 'my-r2');
      await remote(['video', '-i', 's3://uploads/clip.mov', '-o', 's3://processed/clip.mp4', '--async']);
      vi.unstubAllEnvs();
      expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /connections', 'POST /jobs']);
      expect(seen[1]?.body).toMatchObject({ connection_id: 'conn_2' });
    }
  });
});
