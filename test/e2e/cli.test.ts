import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../schemas/job.ts';
import { audioStream, probe, topLevelAtoms, videoStream } from '../support/inspect.ts';
import { fixture } from '../support/media.ts';
import { startReceiver } from './support/receiver.ts';
import { API_KEY, startStack } from './support/stack.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

let stack: Awaited<ReturnType<typeof startStack>>;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let work: string;
let path: string;

beforeAll(async () => {
  stack = await startStack();
  receiver = await startReceiver();
  work = await mkdtemp(join(tmpdir(), 'kiln-cli-e2e-'));
  // `kiln` on PATH as a user would have it, with the project's Node 24 first.
  const bin = join(work, 'bin');
  await mkdir(bin);
  await symlink(join(ROOT, 'bin', 'kiln.js'), join(bin, 'kiln'));
  path = `${bin}:${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`;
  await copyFile(fixture('clip-1080p.mov'), join(work, 'clip.mov'));
  await copyFile(fixture('photo.png'), join(work, 'photo.png'));
});
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
});

function kiln(args: string[], opts: { remote?: boolean } = { remote: true }) {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: path };
  delete env.KILN_API_URL;
  delete env.KILN_API_KEY;
  if (opts.remote) Object.assign(env, { KILN_API_URL: stack.base, KILN_API_KEY: API_KEY });
  return promisify(execFile)('kiln', args, { env, cwd: work });
}

async function shell(script: string, remote: boolean) {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: path };
  if (remote) Object.assign(env, { KILN_API_URL: stack.base, KILN_API_KEY: API_KEY });
  else delete env.KILN_API_URL;
  return promisify(execFile)('bash', ['-c', `set -e\n${script}`], { env, cwd: work });
}

describe('kiln CLI against the service', () => {
  it('uploads a local clip, waits, and downloads a web-ready MP4 (remote mode)', async () => {
    const { stdout } = await kiln(['video', '-i', 'clip.mov', '-o', 'clip-hd.mp4', '--width', '1920', '--quality', 'high', '--tty']);
    expect(stdout).toMatch(/^job_\w+ succeeded: video, mp4, 1920×1080/m);
    const video = await videoStream(join(work, 'clip-hd.mp4'));
    expect(video).toMatchObject({ codec_name: 'h264', pix_fmt: 'yuv420p', width: 1920, height: 1080 });
    const atoms = await topLevelAtoms(join(work, 'clip-hd.mp4'));
    expect(atoms.indexOf('moov')).toBeLessThan(atoms.indexOf('mdat'));
  });

  it('gives the same file properties locally and remotely for the same options', async () => {
    await kiln(['video', '-i', 'clip.mov', '-o', 'remote-480.mp4', '--width', '480', '--quality', 'low']);
    await kiln(['video', '-i', 'clip.mov', '-o', 'local-480.mp4', '--width', '480', '--quality', 'low'], { remote: false });
    const [remote, local] = await Promise.all([probe(join(work, 'remote-480.mp4')), probe(join(work, 'local-480.mp4'))]);
    const shape = (p: typeof remote) =>
      p.streams?.map((s) => [s.codec_type, s.codec_name, s.width, s.height, s.pix_fmt, s.profile, s.sample_rate, s.channels]);
    expect(shape(remote)).toEqual(shape(local));
    expect(Number(remote.format?.duration)).toBeCloseTo(Number(local.format?.duration), 1);
    const ratio = Number(remote.format?.size) / Number(local.format?.size);
    expect(ratio).toBeGreaterThan(0.95);
    expect(ratio).toBeLessThan(1.05);
  });

  it('submits with --async --json, metadata and a webhook, then shows the job with kiln jobs', async () => {
    // biome-ignore format: kiln CLI arguments read as flag/value pairs
    const { stdout } = await kiln([
      'image', '-i', 'photo.png', '-o', 'thumb.webp', '--width', '320', '--async', '--json',
      '--metadata', 'user_id=usr_abc123', '--metadata', 'campaign=summer-launch', '--webhook-url', receiver.url(),
    ]);
    const job = JSON.parse(stdout) as Job;
    expect(job).toMatchObject({
      status: 'queued',
      metadata: { user_id: 'usr_abc123', campaign: 'summer-launch' },
      webhook_url: receiver.url(),
    });
    const done = await stack.waitForJob(job.id);
    expect(done.status).toBe('succeeded');
    const shown = JSON.parse((await kiln(['jobs', job.id, '--json'])).stdout) as Job;
    expect(shown).toMatchObject({ id: job.id, status: 'succeeded' });
    // JSON Lines: one job per line, at most 10 without --limit, as Ittybit's CLI.
    const lines = (await kiln(['jobs', '--kind', 'image', '--status', 'succeeded'])).stdout.trimEnd().split('\n');
    const listed = lines.map((line) => JSON.parse(line) as Job);
    expect(listed.map((j) => j.id)).toContain(job.id);
    expect(listed.every((j) => j.kind === 'image' && j.status === 'succeeded')).toBe(true);
    const older = (await kiln(['jobs', '--after', job.id, '--limit', '1'])).stdout;
    expect(older).not.toContain(job.id);
  });

  it('downloads a whole HLS ladder to a folder in remote mode', async () => {
    const { stdout } = await kiln(['adaptive', '-i', 'clip.mov', '-o', 'hls', '--quality', 'very_low']);
    expect(stdout).toMatch(/succeeded/);
    const master = await readFile(join(work, 'hls', 'master.m3u8'), 'utf8');
    const variants = master.split('\n').filter((l) => l.endsWith('.m3u8'));
    expect(variants).toHaveLength(4);
    for (const variant of variants) {
      const playlist = await readFile(join(work, 'hls', variant), 'utf8');
      const segments = playlist.split('\n').filter((l) => l.endsWith('.ts'));
      expect(segments.length).toBeGreaterThan(0);
      const video = await videoStream(join(work, 'hls', variant.split('/')[0]!, segments[0]!));
      expect(video.codec_name).toBe('h264');
    }
  });

  it('runs a recipe remotely as one batch: uploads once, saves each output where its -o says', async () => {
    const recipe = JSON.stringify({
      outputs: [
        { kind: 'image', options: { width: 320, format: 'webp' } },
        { kind: 'image', options: { width: 64, format: 'png' } },
      ],
    });
    const { stdout } = await kiln(['recipe', recipe, '-i', 'photo.png', '-o', 'recipe-320.webp', '-o', 'recipe-64.png', '--json']);
    const lines = stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { ok: boolean; job: Job; output: string });
    expect(lines.map((l) => [l.ok, l.job.status, l.output])).toEqual([
      [true, 'succeeded', 'recipe-320.webp'],
      [true, 'succeeded', 'recipe-64.png'],
    ]);
    // One upload: both jobs name the same Kiln file.
    expect(lines[0]?.job.input).toMatch(/file_/);
    expect(lines[1]?.job.input).toBe(lines[0]?.job.input);
    expect(await sharp(join(work, 'recipe-320.webp')).metadata()).toMatchObject({ format: 'webp', width: 320 });
    expect(await sharp(join(work, 'recipe-64.png')).metadata()).toMatchObject({ format: 'png', width: 64 });
  });

  it('adds, lists and deletes connections', async () => {
    // biome-ignore format: kiln CLI arguments read as flag/value pairs
    const added = JSON.parse(
      (await kiln([
        'connections', 'add', '--endpoint', `${stack.base}/cdn-cgi/local/r2/s3`,
        '--access-key-id', 'id', '--secret_access_key', 's3cr3t', '--json',
      ])).stdout,
    ) as { id: string };
    expect(added.id).toMatch(/^conn_/);
    const listed = (await kiln(['connections', 'list'])).stdout;
    expect(listed).toContain(added.id);
    expect(listed).not.toContain('s3cr3t');
    expect((await kiln(['connections', 'delete', added.id, '--tty'])).stdout).toContain(`deleted ${added.id}`);
  });

  it('fails with the kind and message, no stack trace, for a bad option', async () => {
    const err = await kiln(['video', '-i', 'clip.mov', '-o', 'x.mp4', '--quality', 'ultra']).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toMatch(/^invalid_input: .*--quality/m);
    expect((err as { stderr: string }).stderr).not.toMatch(/\n\s+at /);
  });

  it('prints the id of a job that failed, and kiln jobs <id> shows that job', async () => {
    await copyFile(fixture('text.mp4'), join(work, 'notes.mp4'));
    const run = await kiln(['video', '-i', 'notes.mp4', '-o', 'notes-out.mp4', '--json']).catch((e: { code: number; stdout: string }) => e);
    expect(run).toMatchObject({ code: 1 });
    const line = JSON.parse(run.stdout);
    expect(line).toMatchObject({ ok: false, id: expect.stringMatching(/^job_\w+$/), error: { kind: 'input_not_media' } });
    expect(JSON.parse((await kiln(['jobs', line.id])).stdout)).toMatchObject({ id: line.id, status: 'failed' });
  });

  /** A seed's text with only `ittybit` → `kiln` and its made-up input URL → the test's media server. */
  async function seed(name: string): Promise<string> {
    return (await readFile(join(ROOT, 'test', 'e2e', 'seeds', name), 'utf8'))
      .replaceAll('ittybit ', 'kiln ')
      .replace(/https:\/\/(darkroom-app|tapestry-app)\.com\/\S+\.mov/g, stack.mediaUrl('clip-1080p.mov'));
  }

  it.each([true, false])("runs the seeds' CLI commands with kiln in place of ittybit (remote: %s)", async (remote) => {
    for (const name of ['cli-upload-pipeline.sh', 'cli-image-pipeline.sh']) await shell(await seed(name), remote);
    expect(await videoStream(join(work, 'clip-hd.mp4'))).toMatchObject({ width: 1920, height: 1080, codec_name: 'h264' });
    expect(await videoStream(join(work, 'clip-preview.mp4'))).toMatchObject({ width: 480, height: 270 });
    expect(await audioStream(join(work, 'clip-preview.mp4'))).toMatchObject({ codec_name: 'aac' });
    expect(await sharp(join(work, 'clip-thumb.webp')).metadata()).toMatchObject({ format: 'webp', width: 640, height: 360 });
    expect(await sharp(join(work, 'photo-full.webp')).metadata()).toMatchObject({ format: 'webp', width: 1920, height: 1440 });
    expect(await sharp(join(work, 'photo-thumb.webp')).metadata()).toMatchObject({ format: 'webp', width: 320, height: 240 });
  });

  it.each([
    ['cli-video-url.sh', 1920, 1080],
    ['metadata-cli.sh', 1280, 720],
  ])('runs the seed %s, which has no -o: remotely it prints the job with its output URL', async (name, width, height) => {
    const { stdout } = await shell(await seed(name), true);
    const job = JSON.parse(stdout) as Job;
    expect(job).toMatchObject({ status: 'succeeded', output: { kind: 'video', format: 'mp4', width, height } });
    const saved = join(work, `remote-${name}.mp4`);
    await writeFile(saved, Buffer.from(await (await fetch(job.output!.url)).arrayBuffer()));
    expect(await videoStream(saved)).toMatchObject({ codec_name: 'h264', width, height });
  });

  it.each([
    ['cli-video-url.sh', 1920, 1080],
    ['metadata-cli.sh', 1280, 720],
  ])('runs the seed %s, which has no -o: locally it writes <input name>.mp4 here and prints the path', async (name, width, height) => {
    const { stdout } = await shell(await seed(name), false);
    const path = join(work, 'clip-1080p.mp4');
    expect(JSON.parse(stdout)).toMatchObject({ ok: true, output: { format: 'mp4', width, height, path } });
    expect(await videoStream(path)).toMatchObject({ codec_name: 'h264', width, height });
  });

  it('chains kiln task probe → video remotely, uploading a file on this machine first', async () => {
    const probed = JSON.parse((await kiln(['task', 'probe', '-i', '{"url":"clip.mov"}', '--json'])).stdout);
    expect(probed).toMatchObject({
      object: 'task',
      kind: 'probe',
      status: 'succeeded',
      output: { object: 'file', width: 1920, height: 1080 },
    });
    // The probe's output File feeds the encode task as it stands, as Ittybit's create-task docs chain them.
    const { stdout } = await kiln(['task', 'video', '-i', JSON.stringify(probed.output), '-o', 'task-480.mp4', '--width', '480', '--tty']);
    expect(stdout).toMatch(/^task_\w+ +video +succeeded/m);
    expect(await videoStream(join(work, 'task-480.mp4'))).toMatchObject({ codec_name: 'h264', width: 480, height: 270 });
  });

  it('kiln health checks this machine and the API', async () => {
    const report = JSON.parse((await kiln(['health'])).stdout);
    expect(report).toMatchObject({ status: 'ok', ffmpeg: { ok: true }, sharp: { ok: true }, api: { ok: true, url: stack.base } });
  });
});
