import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { AwsClient } from 'aws4fetch';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audioStream, probe, topLevelAtoms, videoStream } from '../support/inspect.ts';
import { kilnIn } from '../support/kiln-cli.ts';
import { fixture } from '../support/media.ts';
import { LOCAL_S3, startStack } from './support/stack.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

let stack: Awaited<ReturnType<typeof startStack>>;
let endpoint: string;
let home: string;
const s3 = new AwsClient({ ...LOCAL_S3, service: 's3' });

beforeAll(async () => {
  // wrangler's local R2 S3 endpoint stands in for a user's own bucket: real SigV4, path-style.
  stack = await startStack({ extraBuckets: ['uploads', 'processed'] });
  endpoint = `${stack.base}/cdn-cgi/local/r2/s3`;
  home = await mkdtemp(join(tmpdir(), 'kiln-cli-s3-'));
  for (const [key, file] of [
    ['clip.mov', 'clip-1080p.mov'],
    ['in.mp4', 'clip.mp4'],
    ['photo.png', 'photo.png'],
  ] as const) {
    const put = await s3.fetch(`${endpoint}/uploads/${key}`, { method: 'PUT', body: await readFile(fixture(file)) });
    expect(put.status).toBe(200);
  }
  // biome-ignore format: kiln CLI arguments read as flag/value pairs
  const added = await kilnIn(home, [
    'connections', 'add', 's3', '--name', 'local-r2', '--endpoint', endpoint, '--region', 'auto',
    '--access-key-id', LOCAL_S3.accessKeyId, '--secret-access-key', LOCAL_S3.secretAccessKey,
  ]);
  expect(added.stderr).toContain('saved connection "local-r2"');
});
afterAll(async () => {
  await stack?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

/** Downloads s3://processed/`key` from the local bucket into the test's folder. */
async function fetched(key: string): Promise<{ path: string; type: string | null; size: number }> {
  const res = await s3.fetch(`${endpoint}/processed/${key}`);
  expect(res.status, key).toBe(200);
  const path = join(home, key.replaceAll('/', '_'));
  const body = Buffer.from(await res.arrayBuffer());
  await writeFile(path, body);
  return { path, type: res.headers.get('content-type'), size: body.length };
}

describe('kiln local mode with s3:// paths', () => {
  it('reads and writes s3:// through --connection, with the output typed video/mp4', async () => {
    const run = await kilnIn(home, [
      'video',
      '-i',
      's3://uploads/in.mp4',
      '-o',
      's3://processed/out.mp4',
      '--width',
      '320',
      '--connection',
      'local-r2',
      '--tty',
    ]);
    expect(run.stderr).not.toMatch(/error|invalid/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^wrote s3:\/\/processed\/out\.mp4 \(video, mp4, 320×180/);
    const out = await fetched('out.mp4');
    expect(out.type).toBe('video/mp4');
    expect(await videoStream(out.path)).toMatchObject({ codec_name: 'h264', width: 320, height: 180 });
    expect(await audioStream(out.path)).toMatchObject({ codec_name: 'aac' });
    expect(Number((await probe(out.path)).format?.duration)).toBeCloseTo(2, 0);
    const probed = await kilnIn(home, ['probe', '-i', 's3://processed/out.mp4', '--json']);
    expect(JSON.parse(probed.stdout)).toMatchObject({ kind: 'video', format: 'mp4', width: 320, height: 180, filesize: out.size });
  });

  it('uses the AWS CLI environment variables when no local connection exists', async () => {
    const bare = await mkdtemp(join(tmpdir(), 'kiln-cli-s3-aws-'));
    const run = await kilnIn(
      bare,
      ['image', '-i', 's3://uploads/photo.png', '-o', 's3://processed/photo-thumb.webp', '--width', '320', '--json'],
      {
        AWS_ACCESS_KEY_ID: LOCAL_S3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_S3.secretAccessKey,
        AWS_ENDPOINT_URL: endpoint,
        AWS_REGION: 'auto',
      },
    );
    await rm(bare, { recursive: true, force: true });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, output: { url: 's3://processed/photo-thumb.webp', width: 320 } });
    const out = await fetched('photo-thumb.webp');
    expect(out.type).toBe('image/webp');
    expect(await sharp(out.path).metadata()).toMatchObject({ format: 'webp', width: 320, height: 240 });
  });

  it('kiln task export writes a file to s3:// unchanged, typed from its probe', async () => {
    const source = fixture('clip.mp4');
    // biome-ignore format: kiln CLI arguments read as flag/value pairs
    const run = await kilnIn(home, [
      'task', 'export', '-i', JSON.stringify({ object: 'file', url: source }), '-o', 's3://processed/exported.mp4', '--connection', 'local-r2',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      object: 'task',
      kind: 'export',
      status: 'succeeded',
      output: { url: 's3://processed/exported.mp4', kind: 'video', format: 'mp4' },
    });
    const out = await fetched('exported.mp4');
    expect(out.type).toBe('video/mp4');
    expect(Buffer.compare(await readFile(out.path), await readFile(source))).toBe(0);
  });

  it('uploads every file of an HLS package under the playlist’s prefix', async () => {
    // biome-ignore format: kiln CLI arguments read as flag/value pairs
    const run = await kilnIn(home, ['adaptive', '-i', 's3://uploads/in.mp4', '-o', 's3://processed/hls/stream.m3u8', '--quality', 'very_low', '--tty']);
    expect(run.stderr).not.toMatch(/error|invalid/);
    expect(run.stdout).toMatch(/^wrote s3:\/\/processed\/hls\/stream\.m3u8 /);
    const master = await fetched('hls/stream.m3u8');
    expect(master.type).toBe('application/vnd.apple.mpegurl');
    const variants = (await readFile(master.path, 'utf8')).split('\n').filter((l) => l.endsWith('.m3u8'));
    expect(variants.length).toBeGreaterThan(0);
    for (const variant of variants) {
      const playlist = await fetched(`hls/${variant}`);
      const segments = (await readFile(playlist.path, 'utf8')).split('\n').filter((l) => l.endsWith('.ts'));
      expect(segments.length).toBeGreaterThan(0);
      const dir = variant.slice(0, variant.lastIndexOf('/') + 1);
      for (const segment of segments) {
        const seg = await fetched(`hls/${dir}${segment}`);
        expect(seg.type).toBe('video/mp2t');
        expect((await videoStream(seg.path)).codec_name).toBe('h264');
      }
    }
  });

  it('a wrong secret fails in one line that names the connection and the fix, never the secret', async () => {
    // biome-ignore format: kiln CLI arguments read as flag/value pairs
    await kilnIn(home, [
      'connections', 'add', 's3', '--name', 'wrong-secret', '--endpoint', endpoint,
      '--access-key-id', LOCAL_S3.accessKeyId, '--secret-access-key', 'not-the-secret',
    ]);
    const read = await kilnIn(home, ['video', '-i', 's3://uploads/in.mp4', '-o', 'never.mp4', '--connection', 'wrong-secret']);
    expect(read.code).toBe(1);
    expect(read.stderr).toBe(
      'input_unreachable: Reading s3://uploads/in.mp4 failed (HTTP 403 SignatureDoesNotMatch): the secret access key of connection "wrong-secret" does not match its access key id; save it again with kiln connections add s3 --name wrong-secret and the right --access-key-id and --secret-access-key.\n',
    );
    expect(existsSync(join(home, 'never.mp4'))).toBe(false);
    const write = await kilnIn(home, [
      'image',
      '-i',
      fixture('photo.png'),
      '-o',
      's3://processed/never.webp',
      '--connection',
      'wrong-secret',
    ]);
    expect(write.code).toBe(1);
    expect(write.stderr).toMatch(/^output_write_failed: Writing s3:\/\/processed\/never\.webp failed \(HTTP 403 SignatureDoesNotMatch\): /);
    for (const out of [read.stderr, write.stderr]) expect(out).not.toContain('not-the-secret');
  });

  it('a missing object or bucket is named, with what to check', async () => {
    const key = await kilnIn(home, ['video', '-i', 's3://uploads/nope.mp4', '-o', 'nope.mp4']);
    expect(key.code).toBe(1);
    expect(key.stderr).toBe(
      `input_unreachable: Reading s3://uploads/nope.mp4 failed (HTTP 404 NoSuchKey): there is no such object in bucket "uploads" at ${endpoint}; check the key.\n`,
    );
    const bucket = await kilnIn(home, ['video', '-i', 's3://no-such-bucket/in.mp4', '-o', 'nope.mp4']);
    expect(bucket.code).toBe(1);
    expect(bucket.stderr).toMatch(
      /^input_unreachable: Reading s3:\/\/no-such-bucket\/in\.mp4 failed \(HTTP 404 NoSuchBucket\): there is no bucket "no-such-bucket" at /,
    );
  });

  it("runs the seed's S3 CLI block with kiln in place of ittybit, through the default connection", async () => {
    const script = (await readFile(join(ROOT, 'test', 'e2e', 'seeds', 's3-cli.sh'), 'utf8')).replaceAll('ittybit ', 'kiln ');
    // `kiln` on PATH as a user would have it, with the project's Node 24 first; local mode.
    const bin = join(home, 'bin');
    await mkdir(bin);
    await symlink(join(ROOT, 'bin', 'kiln.js'), join(bin, 'kiln'));
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}` };
    Object.assign(env, { HOME: home, XDG_CONFIG_HOME: join(home, '.config') });
    delete env.KILN_API_URL;
    await promisify(execFile)('bash', ['-c', `set -e\n${script}`], { env, cwd: home });
    const out = await fetched('clip-hd.mp4');
    expect(out.type).toBe('video/mp4');
    expect(await videoStream(out.path)).toMatchObject({ codec_name: 'h264', pix_fmt: 'yuv420p', width: 1920, height: 1080 });
    const atoms = await topLevelAtoms(out.path);
    expect(atoms.indexOf('moov')).toBeLessThan(atoms.indexOf('mdat'));
  });
});
