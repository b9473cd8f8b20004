import { execFile } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { audioStream, cleanupWorkDirs, videoStream, workDir } from '../support/inspect.ts';
import { fixture } from '../support/media.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'kiln.js');
/** The CLI needs Node 24 (type stripping); prefer the project's pinned node over whatever runs vitest. */
const NODE = existsSync(join(ROOT, 'node_modules', '.bin', 'node')) ? join(ROOT, 'node_modules', '.bin', 'node') : process.execPath;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** No API from the machine's environment reaches the CLI unless a test sets one. */
const NO_API = { KILN_API_URL: undefined, KILN_API_KEY: undefined, ITTYBIT_API_URL: undefined, ITTYBIT_API_KEY: undefined };

/** No S3 credentials from the machine: no saved connection, no AWS variables or shared credentials file. */
const NO_S3 = {
  XDG_CONFIG_HOME: '/nonexistent/kiln-test-config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/kiln-test-aws-credentials',
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  AWS_PROFILE: undefined,
  KILN_CONNECTION: undefined,
  ITTYBIT_CONNECTION: undefined,
};

function kiln(args: string[], env: Record<string, string | undefined> = {}, cwd?: string, stdin?: string): Promise<CliRun> {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...NO_API, ...env };
  for (const key of Object.keys(childEnv)) if (childEnv[key] === undefined) delete childEnv[key];
  return new Promise((done) => {
    const child = execFile(NODE, [BIN, ...args], { env: childEnv as NodeJS.ProcessEnv, cwd }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
    child.stdin?.end(stdin ?? '');
  });
}

/** Runs a shell script with `kiln` on PATH, as a user's script would. */
/** Each line of a JSON Lines stdout, parsed. */
const jsonLines = (stdout: string) =>
  stdout
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line));

async function shell(script: string, cwd: string): Promise<CliRun> {
  const bin = join(await workDir(), 'bin');
  await mkdir(bin, { recursive: true });
  await symlink(BIN, join(bin, 'kiln')).catch(() => {});
  const PATH = `${bin}:${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`;
  const env: Record<string, string | undefined> = { ...process.env, ...NO_API, PATH };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return new Promise((done) => {
    execFile('bash', ['-c', `set -eo pipefail\n${script}`], { env: env as NodeJS.ProcessEnv, cwd }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** What the fake API was asked, in order. */
const apiRequests: { method: string; url: string; auth: string | undefined; body: unknown }[] = [];

let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/clip.mp4' || req.url === '/uploads/clip.mov') {
      res.writeHead(200, { 'content-type': 'video/mp4' });
      createReadStream(fixture('clip.mp4')).pipe(res);
    } else if (req.url?.startsWith('/api/')) {
      let text = '';
      req.on('data', (c: Buffer) => (text += c));
      req.on('end', () => {
        const url = req.url!.slice('/api'.length);
        apiRequests.push({ method: req.method!, url, auth: req.headers.authorization, body: text ? JSON.parse(text) : undefined });
        const reply = (status: number, body: unknown) =>
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        if (req.method === 'GET' && url.startsWith('/jobs?')) reply(200, [fakeJob('job_a'), fakeJob('job_b')]);
        else if (req.method === 'POST' && url === '/jobs' && text.includes('broken.mov')) reply(201, failedJob());
        else if (req.method === 'POST' && url === '/jobs') reply(201, fakeJob('job_new'));
        else if (url === '/health') reply(200, { status: 'ok', worker: { status: 'ok' } });
        else reply(404, { kind: 'not_found', message: 'No such route.' });
      });
    } else {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
/** A finished job as the API shows it, its output served by the test server. */
function fakeJob(id: string) {
  const output = { object: 'file', id: 'file_1', kind: 'video', format: 'mp4', type: 'video/mp4', width: 640, height: 360, duration: 2 };
  // biome-ignore format: one job object
  return {
    id, object: 'job', kind: 'video', status: 'succeeded', progress: 100, input: 'https://example.com/clip.mov', options: {},
    output: { ...output, filesize: 501_768, codecs: { video: 'h264' }, url: `${base}/clip.mp4` }, metadata: {}, error: null, tasks: [],
  };
}

/** A job the processor failed: the API answers it at once, already terminal. */
function failedJob() {
  const error = { kind: 'input_not_media', message: 'The input is not a video, audio or image file Kiln can read.' };
  // biome-ignore format: one job object
  return {
    id: 'job_failed', object: 'job', kind: 'video', status: 'failed', progress: 20, input: 'https://example.com/broken.mov',
    options: {}, output: null, metadata: {}, error, tasks: [],
  };
}

afterAll(async () => {
  server.close();
  await cleanupWorkDirs();
});

describe('kiln CLI help and usage', () => {
  test('--help prints usage and exits 0, without loading zod (it slows every start)', async () => {
    const hook = join(await workDir(), 'hook.mjs');
    await writeFile(
      hook,
      "import { registerHooks } from 'node:module';\n" +
        "registerHooks({ resolve(s, c, next) { if (s === 'zod') process.stderr.write('loaded zod\\n'); return next(s, c); } });\n",
    );
    const run = await kiln(['--help'], { NODE_OPTIONS: `--import=${hook}` });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/Usage:/);
  });

  test('no command prints usage on stderr and exits 2', async () => {
    const run = await kiln([]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Usage:/);
  });

  test("an unknown flag is a usage error naming the nearest of that command's options", async () => {
    const run = await kiln(['video', '-i', 'a.mov', '-o', 'b.mp4', '--widht', '3']);
    expect(run).toMatchObject({ code: 2, stdout: '', stderr: 'invalid_input: Unknown option --widht; did you mean --width?\n' });
  });

  test("a command's --help is its own: its options with ranges, allowed values and defaults from the job schemas", async () => {
    const video = await kiln(['video', '--help']);
    expect(video.code).toBe(0);
    expect(video.stdout).toMatch(/^kiln video — MP4/);
    expect(video.stdout).toContain("  --fps <n>\n      number 1 to 60\n      Frames per second (default: the source's, at most 60).\n");
    expect(video.stdout).toContain('  --codec <h264|h265|vp9|av1>\n');
  });

  test('an output extension it cannot map asks for --format', async () => {
    const run = await kiln(['video', '-i', fixture('clip.mp4'), '-o', 'out.xyz']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^invalid_input: Cannot tell the format from "out\.xyz"/);
  });

  test('option errors name the flag', async () => {
    const run = await kiln(['video', '-i', fixture('clip.mp4'), '-o', join(await workDir(), 'x.mp4'), '--fps', '100']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('invalid_input: Expected a number <= 60 for --fps but received 100 of type number\n');
  });

  test('--local runs on this machine even when KILN_API_URL is set', async () => {
    const run = await kiln(['probe', '-i', fixture('clip.mp4'), '--local', '--json'], { KILN_API_URL: 'https://kiln.invalid' });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ kind: 'video', width: 640 });
  });
});

describe('kiln CLI seed commands', () => {
  test('kiln video -i clip.mov -o clip-hd.mp4 --width 1920 --quality high', async () => {
    const dir = await workDir();
    const run = await kiln(
      ['video', '-i', fixture('clip-1080p.mov'), '-o', 'clip-hd.mp4', '--width', '1920', '--quality', 'high', '--tty'],
      {},
      dir,
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^wrote clip-hd\.mp4 \(video, mp4, 1920×1080/);
    expect(await videoStream(join(dir, 'clip-hd.mp4'))).toMatchObject({ codec_name: 'h264', profile: 'High', width: 1920, height: 1080 });
  });

  test('kiln image -i clip.mov -o clip-thumb.webp --start 2 --width 640', async () => {
    const dir = await workDir();
    const argv = ['image', '-i', fixture('clip-1080p.mov'), '-o', 'clip-thumb.webp', '--start', '2', '--width', '640', '--tty'];
    const run = await kiln(argv, {}, dir);
    expect(run.code).toBe(0);
    // The clip is 1 s long, so a frame at 2 s does not exist: the CLI says which frame it used.
    expect(run.stderr).toMatch(/note: start 2 s was past the last frame; used 0\.96\d s\./);
    const meta = await sharp(join(dir, 'clip-thumb.webp')).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 640, 360]);
  });

  test('kiln image -i photo.png -o photo-full.webp --width 1920 --quality high', async () => {
    const dir = await workDir();
    const run = await kiln(['image', '-i', fixture('photo.png'), '-o', 'photo-full.webp', '--width', '1920', '--quality', 'high'], {}, dir);
    expect(run.code).toBe(0);
    const meta = await sharp(join(dir, 'photo-full.webp')).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 1920, 1440]);
  });
});

describe('kiln CLI local jobs', () => {
  test('--json prints the input, the output file and notes', async () => {
    const out = join(await workDir(), 'tone.m4a');
    const run = await kiln(['audio', '-i', fixture('clip.mp4'), '-o', out, '--json']);
    expect(run.code).toBe(0);
    const body = JSON.parse(run.stdout);
    expect(body).toMatchObject({ ok: true, input: { kind: 'video' }, output: { kind: 'audio', format: 'm4a', path: out }, notes: [] });
  });

  test('a missing file is "No such file" with its path and exit 2, in the same words locally and remotely', async () => {
    const dir = await workDir();
    const local = await kiln(['video', '-i', 'clpi.mov', '-o', 'x.mp4', '--tty'], {}, dir);
    expect(local).toMatchObject({ code: 2, stdout: '', stderr: 'invalid_input: No such file: clpi.mov\n' });
    const remote = await kiln(['video', '-i', 'clpi.mov', '-o', 'x.mp4', '--tty'], { KILN_API_URL: `${base}/api`, KILN_API_KEY: 'k' }, dir);
    expect(remote).toEqual(local);
    const json = await kiln(['probe', '-i', 'clpi.mov', '--json'], {}, dir);
    expect([json.code, JSON.parse(json.stdout)]).toEqual([
      2,
      { ok: false, error: { kind: 'invalid_input', message: 'No such file: clpi.mov' } },
    ]);
  });

  test('a bad input exits 1 with kind and message only', async () => {
    const run = await kiln(['video', '-i', fixture('text.mp4'), '-o', join(await workDir(), 'x.mp4'), '--tty']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('input_not_media: The input is not a video, audio or image file Kiln can read.\n');
  });

  test('--json failures are JSON on stdout', async () => {
    const run = await kiln(['image', '-i', fixture('bomb.png'), '-o', join(await workDir(), 'x.png'), '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, error: { kind: 'too_many_pixels' } });
  });

  test('probe prints the file description', async () => {
    const run = await kiln(['probe', '-i', fixture('rotated.mov'), '--tty']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^kind: video$/m);
    expect(run.stdout).toMatch(/^width: 360$/m);
  });

  test('downloads an http input first', async () => {
    const run = await kiln(['probe', '-i', `${base}/clip.mp4`, '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ kind: 'video', width: 640, height: 360 });
  });

  test('an unreachable URL is input_unreachable', async () => {
    const run = await kiln(['probe', '-i', `${base}/missing.mp4`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^input_unreachable: Could not download .*404/);
  });

  test('adaptive writes the HLS directory', async () => {
    const dir = join(await workDir(), 'hls');
    const run = await kiln(['adaptive', '-i', fixture('clip.mp4'), '-o', dir, '--end', '1']);
    expect(run.code).toBe(0);
    expect(existsSync(join(dir, 'master.m3u8'))).toBe(true);
    expect(existsSync(join(dir, '360p', 'index.m3u8'))).toBe(true);
  });

  test('a malformed limit in the environment is reported, not thrown', async () => {
    const run = await kiln(['probe', '-i', fixture('clip.mp4')], { KILN_MAX_INPUT_BYTES: 'lots' });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('invalid_input: Expected a positive number for KILN_MAX_INPUT_BYTES but received "lots"\n');
  });
});

describe('kiln CLI output: JSON Lines when piped, text on a terminal or with --tty', () => {
  test("pipes to jq as Ittybit's docs show: kiln task probe … --json | jq '.output'", async () => {
    const run = await shell(`kiln task probe -i '{"url":"${base}/clip.mp4"}' --json | jq '.output'`, await workDir());
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ kind: 'video', width: 640, height: 360, url: `${base}/clip.mp4` });
  });

  test('piped without --json, stdout is one JSON object per line', async () => {
    const run = await shell(`kiln probe -i ${fixture('clip.mp4')} | jq -c '[.kind, .width]'`, await workDir());
    expect(run.stdout).toBe('["video",640]\n');
    const listed = await kiln(['jobs'], { KILN_API_URL: `${base}/api`, KILN_API_KEY: 'k' });
    expect(jsonLines(listed.stdout).map((job) => job.id)).toEqual(['job_a', 'job_b']);
  });

  test('a failure is a JSON line on stdout and kind: message on stderr', async () => {
    const run = await kiln(['video', '-i', fixture('text.mp4'), '-o', join(await workDir(), 'x.mp4')]);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, error: { kind: 'input_not_media' } });
    expect(run.stderr).toBe('input_not_media: The input is not a video, audio or image file Kiln can read.\n');
  });

  test('--json and --tty together are a usage error', async () => {
    const run = await kiln(['probe', '-i', fixture('clip.mp4'), '--json', '--tty']);
    expect(run).toMatchObject({ code: 2, stdout: '', stderr: 'invalid_input: --json and --tty contradict each other; give one\n' });
  });
});

describe('kiln CLI local mode without -o', () => {
  test('writes <input name>.<format> into the current folder and prints its path', async () => {
    const dir = await workDir();
    const text = await kiln(['video', '-i', `${base}/uploads/clip.mov`, '--width', '320', '--format', 'mp4', '--tty'], {}, dir);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^wrote clip\.mp4 \(video, mp4, 320×180/);
    expect(await videoStream(join(dir, 'clip.mp4'))).toMatchObject({ codec_name: 'h264', width: 320, height: 180 });
    const json = await kiln(['audio', '-i', `${base}/uploads/clip.mov`], {}, dir);
    expect(JSON.parse(json.stdout)).toMatchObject({ output: { kind: 'audio', format: 'mp3', path: join(dir, 'clip.mp3') } });
  });

  test('names it <name>-<kind>.<format> when that would overwrite the input', async () => {
    const dir = await workDir();
    await copyFile(fixture('clip.mp4'), join(dir, 'clip.mp4'));
    const before = (await stat(join(dir, 'clip.mp4'))).size;
    const run = await kiln(['video', '-i', 'clip.mp4', '--width', '320', '--tty'], {}, dir);
    expect(run.stdout).toMatch(/^wrote clip-video\.mp4 \(video, mp4, 320×180/);
    expect((await stat(join(dir, 'clip.mp4'))).size).toBe(before);
    expect((await videoStream(join(dir, 'clip-video.mp4')))?.width).toBe(320);
  });

  test('adaptive writes the folder <name>-hls', async () => {
    const dir = await workDir();
    const run = await kiln(['adaptive', '-i', fixture('clip.mp4'), '--end', '1', '--tty'], {}, dir);
    expect(run.stdout).toMatch(/^wrote clip-hls\/master\.m3u8 /);
    expect(existsSync(join(dir, 'clip-hls', '360p', 'index.m3u8'))).toBe(true);
  });
});

describe('kiln CLI flags', () => {
  test('--no-audio drops the audio track', async () => {
    const out = join(await workDir(), 'silent.mp4');
    const run = await kiln(['video', '-i', fixture('clip.mp4'), '-o', out, '--width', '320', '--no-audio']);
    expect(run.code, run.stderr).toBe(0);
    expect(await audioStream(out)).toBeUndefined();
    expect((await videoStream(out))?.width).toBe(320);
  });

  test('--debug prints the ffmpeg and ffprobe command lines and their output on stderr', async () => {
    const out = join(await workDir(), 'frame.png');
    const run = await kiln(['image', '-i', fixture('clip.mp4'), '-o', out, '--width', '64', '--debug']);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^\$ ffprobe -v error .* -i \S*clip\.mp4$/m);
    expect(run.stderr).toMatch(/^\$ ffmpeg .*-i \S*clip\.mp4 .*frame\.png$/m);
    expect(run.stderr).toMatch(/^Input #0, mov,mp4/m);
    expect((await sharp(out).metadata()).width).toBe(64);
  });
});

describe('kiln task <kind> in local mode', () => {
  test("probe's output feeds a video task, as Ittybit's task docs chain them", async () => {
    const dir = await workDir();
    const probe = await kiln(['task', 'probe', '-i', JSON.stringify({ url: fixture('clip.mp4') })], {}, dir);
    const task = JSON.parse(probe.stdout);
    expect(task).toMatchObject({ object: 'task', kind: 'probe', status: 'succeeded', output: { kind: 'video', width: 640 } });
    const video = await kiln(['task', 'video', '-i', JSON.stringify(task.output), '-o', 'small.webm', '--width', '320'], {}, dir);
    expect(JSON.parse(video.stdout)).toMatchObject({ kind: 'video', status: 'succeeded', output: { format: 'webm', width: 320 } });
    expect(await videoStream(join(dir, 'small.webm'))).toMatchObject({ codec_name: 'vp9', width: 320 });
  });

  test('import downloads the URL into the current folder', async () => {
    const dir = await workDir();
    const run = await kiln(['task', 'import', '-i', `{"url":"${base}/clip.mp4"}`, '--tty'], {}, dir);
    expect(run.stdout).toBe(`wrote clip.mp4 (${(await stat(fixture('clip.mp4'))).size} bytes)\n`);
    expect(await readdir(dir)).toEqual(['clip.mp4']);
  });

  test('import refuses an s3:// -o, pointing to export, instead of writing a folder named s3:', async () => {
    const run = await kiln(['task', 'import', '-i', '{"url":"https://example.com/clip.mp4"}', '-o', 's3://mybucket/clip.mp4', '--tty']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'invalid_input: kiln task import copies a file to this machine; to write it to S3 use kiln task export -o s3://mybucket/clip.mp4\n',
    );
  });

  test('export says what it needs: an s3:// destination, then credentials for it', async () => {
    const noTarget = await kiln(['task', 'export', '-i', '{"url":"clip.mp4"}', '--tty']);
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toMatch(/^invalid_input: kiln task export writes to S3: pass -o s3:\/\/bucket\/key/);
    const noCredentials = await kiln(['task', 'export', '-i', '{"url":"clip.mp4"}', '-o', 's3://processed/clip.mp4', '--tty'], NO_S3);
    expect(noCredentials.code).toBe(2);
    expect(noCredentials.stderr).toMatch(/^invalid_input: No S3 credentials for s3:\/\/ paths/);
  });

  test('-i must be a JSON object with a url, and the error says so', async () => {
    expect((await kiln(['task', 'probe', '-i', 'clip.mp4', '--tty'])).stderr).toBe(
      `invalid_input: Expected -i to be a JSON object such as -i '{"url":"https://example.com/clip.mov"}' but received "clip.mp4"\n`,
    );
    expect((await kiln(['task', 'video', '-i', '{"kind":"video"}', '--tty'])).stderr).toMatch(/^invalid_input: Expected -i\.url to be/);
  });
});

describe('kiln health, login and the environment', () => {
  test('health runs ffmpeg, ffprobe and sharp here and, with an API, asks its /health', async () => {
    const local = await kiln(['health']);
    expect(local.code).toBe(0);
    expect(JSON.parse(local.stdout)).toMatchObject({
      status: 'ok',
      ffmpeg: { ok: true, version: expect.any(String) },
      ffprobe: { ok: true },
      sharp: { ok: true },
    });
    const remote = await kiln(['health', '--api-url', `${base}/api`, '--api-key', 'k']);
    expect(JSON.parse(remote.stdout)).toMatchObject({ status: 'ok', api: { ok: true, health: { status: 'ok' } } });
    const down = await kiln(['health', '--api-url', `${base}/nothing-here`, '--api-key', 'k', '--tty']);
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/^api +FAILED/m);
  });

  test('login explains how to configure Kiln and exits 2', async () => {
    const run = await kiln(['login', '--tty']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^invalid_input: Kiln has no browser login: .*Set KILN_API_URL .* and KILN_API_KEY/);
  });

  test('ITTYBIT_API_URL and ITTYBIT_API_KEY are read when the KILN_ ones are absent', async () => {
    apiRequests.length = 0;
    const run = await kiln(['jobs', '--kind', 'adaptive', '--status', 'succeeded'], {
      ITTYBIT_API_URL: `${base}/api`,
      ITTYBIT_API_KEY: 'itty_key',
    });
    expect(run.code, run.stderr).toBe(0);
    expect(apiRequests).toMatchObject([
      { method: 'GET', url: '/jobs?kind=adaptive_video&status=succeeded&limit=10', auth: 'Bearer itty_key' },
    ]);
    await kiln(['jobs'], { ITTYBIT_API_URL: `${base}/api`, ITTYBIT_API_KEY: 'itty_key', KILN_API_KEY: 'kiln_key' });
    expect(apiRequests[1]).toMatchObject({ url: '/jobs?limit=10', auth: 'Bearer kiln_key' });
  });

  test('a key without an API URL stays local: there is no hosted Kiln to default to', async () => {
    const run = await kiln(['jobs', '--tty'], { ITTYBIT_API_KEY: 'itty_key' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^invalid_input: kiln jobs talks to the API: set KILN_API_URL and KILN_API_KEY/);
  });
});

describe('kiln CLI remote mode against a fake API', () => {
  const api = () => ({ KILN_API_URL: `${base}/api`, KILN_API_KEY: 'k' });
  const body = {
    input: 'https://darkroom-app.com/uploads/clip.mov',
    kind: 'video',
    options: { width: 480, quality: 'low', format: 'mp4' },
  };

  test('jobs create takes --body from a file, from stdin (-) and inline', async () => {
    const dir = await workDir();
    await writeFile(join(dir, 'preview.json'), JSON.stringify(body));
    apiRequests.length = 0;
    const fromFile = await kiln(['jobs', 'create', '--body', 'preview.json'], api(), dir);
    expect(JSON.parse(fromFile.stdout)).toMatchObject({ id: 'job_new', status: 'succeeded' });
    await kiln(['jobs', 'create', '--body', '-'], api(), dir, JSON.stringify(body));
    await kiln(['jobs', 'create', '--body', JSON.stringify(body)], api(), dir);
    expect(apiRequests.map((r) => [r.method, r.url, r.body])).toEqual(Array(3).fill(['POST', '/jobs', body]));
    const bad = await kiln(['jobs', 'create', '--body', '-', '--tty'], api(), dir, '{"input":');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^invalid_input: Expected JSON in --body - \(stdin\): /);
  });

  test('without -o prints the output URL and writes nothing', async () => {
    const dir = await workDir();
    // biome-ignore format: the seed's flags
    const run = await kiln(['video', '-i', 'https://darkroom-app.com/uploads/clip.mov', '--width', '1920', '--format', 'mp4', '--quality', 'high', '--tty'], api(), dir);
    expect(run.stdout).toBe(`job_new succeeded: video, mp4, 640×360, 2.0 s, h264, 490.0 KB\n${base}/clip.mp4\n`);
    expect(await readdir(dir)).toEqual([]);
  });

  test('an API nothing answers at is api_unreachable, naming the URL and what to check', async () => {
    // A port that was just free: nothing listens on it.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    const url = `http://127.0.0.1:${port}`;
    const run = await kiln(['jobs', '--tty'], { KILN_API_URL: url, KILN_API_KEY: 'k' });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `api_unreachable: Could not reach the Kiln API at ${url} (connect ECONNREFUSED 127.0.0.1:${port}). ` +
        'Is Kiln running there (npm run dev starts one on http://127.0.0.1:8787), and is the URL right (--api-url, KILN_API_URL or ITTYBIT_API_URL)?\n',
    );
  });

  test('a failed job prints its id, in text and in JSON, so kiln jobs <id> can show it', async () => {
    const argv = ['video', '-i', 'https://example.com/broken.mov', '-o', 'x.mp4'];
    const text = await kiln([...argv, '--tty'], api());
    expect(text).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'input_not_media: The input is not a video, audio or image file Kiln can read.\nsee the job with: kiln jobs job_failed\n',
    });
    const json = await kiln([...argv, '--json'], api());
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      ok: false,
      id: 'job_failed',
      error: { kind: 'input_not_media', message: 'The input is not a video, audio or image file Kiln can read.' },
    });
  });

  test('--debug prints each API request and its status on stderr', async () => {
    const run = await kiln(['jobs', '--limit', '2', '--debug'], api());
    expect(run.stderr).toBe(`> GET ${base}/api/jobs?limit=2\n< 200 GET /jobs?limit=2\n`);
  });
});

describe('kiln CLI batch and multi-output', () => {
  /** Two photos and a text file named like one, in a fresh folder. */
  async function photos(): Promise<string> {
    const dir = await workDir();
    await copyFile(fixture('orient-6.jpg'), join(dir, 'a.jpg'));
    await copyFile(fixture('gps.jpg'), join(dir, 'b.jpg'));
    await copyFile(fixture('text.mp4'), join(dir, 'c.jpg'));
    return dir;
  }

  test('several inputs go into the -o folder, one JSON line each; a failed one exits 1 and the others are written', async () => {
    const dir = await photos();
    const run = await kiln(['image', '-i', 'a.jpg', 'b.jpg', 'c.jpg', '-o', 'web', '--width', '32', '--format', 'webp'], {}, dir);
    expect(run.code).toBe(1);
    const lines = jsonLines(run.stdout);
    expect(lines.map((l) => [l.source, l.ok]).sort()).toEqual([
      ['a.jpg', true],
      ['b.jpg', true],
      ['c.jpg', false],
    ]);
    expect(lines.find((l) => l.source === 'c.jpg').error.kind).toBe('input_not_media');
    expect(run.stderr).toBe('note: 1 of 3 outputs failed; the others were written.\n');
    expect((await readdir(join(dir, 'web'))).sort()).toEqual(['a.webp', 'b.webp']);
    const a = await sharp(join(dir, 'web', 'a.webp')).metadata();
    expect([a.format, a.width, a.height]).toEqual(['webp', 32, 21]);
  });

  test('an output that cannot be written fails its own input only, with --concurrency 1 too', async () => {
    const dir = await photos();
    await mkdir(join(dir, 'web', 'a.webp'), { recursive: true });
    const run = await kiln(
      ['image', '-i', 'a.jpg', 'b.jpg', '-o', 'web', '--width', '32', '--format', 'webp', '--concurrency', '1'],
      {},
      dir,
    );
    expect(run.code).toBe(1);
    const lines = jsonLines(run.stdout);
    expect(lines.map((l) => [l.source, l.ok]).sort()).toEqual([
      ['a.jpg', false],
      ['b.jpg', true],
    ]);
    expect(lines.find((l) => l.source === 'a.jpg').error.kind).toBe('output_write_failed');
    expect((await sharp(join(dir, 'web', 'b.webp')).metadata()).width).toBe(32);
  });

  test('a quoted glob is expanded by kiln, and --tty prints one line per output', async () => {
    const dir = await photos();
    const run = await kiln(
      ['image', '-i', '[ab].jpg', '-o', 'out', '--width', '20', '--format', 'png', '--concurrency', '1', '--tty'],
      {},
      dir,
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^wrote out\/a\.png \(image, png, 20×13, .*\)\nwrote out\/b\.png \(image, png, 20×15, .*\)\n$/);
    const none = await kiln(['image', '-i', 'nothing-*.jpg', '-o', 'out', '--format', 'png'], {}, dir);
    expect([none.code, none.stderr]).toEqual([2, 'invalid_input: No file matches -i nothing-*.jpg\n']);
  });

  test('one input, several -o: each extension picks its format', async () => {
    const dir = await photos();
    const run = await kiln(['image', '-i', 'a.jpg', '-o', 'a.webp', '-o', 'a.avif', '-o', 'a.png', '--width', '30', '--tty'], {}, dir);
    expect(run.code).toBe(0);
    expect(run.stdout.trimEnd().split('\n')).toHaveLength(3);
    for (const format of ['webp', 'heif', 'png']) {
      const file = join(dir, `a.${format === 'heif' ? 'avif' : format}`);
      const meta = await sharp(file).metadata();
      expect([meta.format, meta.width]).toEqual([format, 30]);
    }
  });

  test('one video input, several -o: one ffmpeg decodes once for every output', async () => {
    const dir = await workDir();
    const run = await kiln(['video', '-i', fixture('clip.mp4'), '-o', 'a.mp4', '-o', 'a.webm', '--width', '160', '--debug'], {}, dir);
    expect(run.code, run.stderr).toBe(0);
    const encodes = run.stderr.split('\n').filter((line) => line.startsWith('$ ffmpeg '));
    expect(encodes).toHaveLength(1);
    expect(encodes[0]).toContain('split=2');
    expect(await videoStream(join(dir, 'a.mp4'))).toMatchObject({ codec_name: 'h264', width: 160, pix_fmt: 'yuv420p' });
    expect(await videoStream(join(dir, 'a.webm'))).toMatchObject({ codec_name: 'vp9', width: 160 });
  });

  test('kiln recipe: outputs of several kinds from one decode, named by one -o each', async () => {
    const dir = await workDir();
    const recipe = {
      outputs: [
        { kind: 'video', options: { width: 320, format: 'mp4' } },
        { kind: 'image', options: { width: 96, format: 'webp', start: 1 } },
        { kind: 'video', options: { width: 160, quality: 'low' } },
      ],
    };
    await writeFile(join(dir, 'seed.json'), JSON.stringify(recipe));
    const args = ['recipe', 'seed.json', '-i', fixture('clip.mp4'), '-o', 'hd.mp4', '-o', 'thumb.webp', '-o', 'low.mp4', '--debug'];
    const run = await kiln(args, {}, dir);
    expect(run.code, run.stderr).toBe(0);
    const encodes = run.stderr.split('\n').filter((line) => line.startsWith('$ ffmpeg '));
    expect(encodes).toHaveLength(1);
    expect(encodes[0]).toContain('split=3');
    expect(jsonLines(run.stdout).map((line) => [line.ok, line.output.path])).toEqual([
      [true, join(dir, 'hd.mp4')],
      [true, join(dir, 'thumb.webp')],
      [true, join(dir, 'low.mp4')],
    ]);
    expect(await videoStream(join(dir, 'hd.mp4'))).toMatchObject({ codec_name: 'h264', width: 320, height: 180 });
    expect(await sharp(join(dir, 'thumb.webp')).metadata()).toMatchObject({ format: 'webp', width: 96, height: 54 });
    expect(await videoStream(join(dir, 'low.mp4'))).toMatchObject({ codec_name: 'h264', width: 160, height: 90 });
  });

  test('kiln recipe without -o names outputs <input>-<n>; one output that cannot be written fails alone', async () => {
    const dir = await workDir();
    await copyFile(fixture('clip.mp4'), join(dir, 'clip.mp4'));
    // A folder where the second output's file would go.
    await mkdir(join(dir, 'clip-2.png'));
    const recipe = {
      outputs: [
        { kind: 'image', options: { width: 64, format: 'webp' } },
        { kind: 'image', options: { width: 32, format: 'png' } },
      ],
    };
    const run = await kiln(['recipe', JSON.stringify(recipe), '-i', 'clip.mp4'], {}, dir);
    expect(run.code).toBe(1);
    const [first, second] = jsonLines(run.stdout);
    expect(first).toMatchObject({ ok: true, output: { format: 'webp', width: 64, path: join(dir, 'clip-1.webp') } });
    expect(second).toMatchObject({ ok: false, error: { kind: 'output_write_failed' } });
    expect(second.error.message).toMatch(/^Could not write clip-2\.png: /);
  });

  test('kiln recipe into an s3:// folder needs credentials, and never writes a local folder named s3:', async () => {
    const dir = await workDir();
    const recipe = {
      outputs: [
        { kind: 'image', options: { width: 32, format: 'png' } },
        { kind: 'image', options: { width: 16, format: 'png' } },
      ],
    };
    const noCredentials = {
      HOME: dir,
      XDG_CONFIG_HOME: dir,
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_PROFILE: undefined,
    };
    const run = await kiln(['recipe', JSON.stringify(recipe), '-i', fixture('photo.png'), '-o', 's3://bucket/pre'], noCredentials, dir);
    expect(run.code).not.toBe(0);
    expect(jsonLines(run.stdout).map((line) => line.ok)).toEqual([false, false]);
    expect(run.stdout).toMatch(/S3|credentials|connection/i);
    expect(existsSync(join(dir, 's3:'))).toBe(false);
  });

  test('kiln recipe refuses a bad recipe before any work, naming the output and field', async () => {
    const dir = await workDir();
    const bad = { outputs: [{ kind: 'video', options: { width: 0 } }, { kind: 'image' }] };
    const run = await kiln(['recipe', JSON.stringify(bad), '-i', fixture('clip.mp4')], {}, dir);
    expect([run.code, run.stderr]).toEqual([
      2,
      'invalid_input: Expected a number >= 1 for outputs[0].options.width but received 0 of type number\n',
    ]);
    const counts = await kiln(
      ['recipe', JSON.stringify({ outputs: [{ kind: 'image' }, { kind: 'image' }] }), '-i', 'x.mp4', '-o', 'a', '-o', 'b', '-o', 'c'],
      {},
      dir,
    );
    expect([counts.code, counts.stderr]).toEqual([
      2,
      'invalid_input: The recipe has 2 outputs but 3 -o were given: give one -o per output, or one -o folder\n',
    ]);
    const missing = await kiln(['recipe', 'nope.json', '-i', 'x.mp4'], {}, dir);
    expect([missing.code, missing.stderr]).toEqual([
      2,
      'invalid_input: Expected the recipe to be JSON, - or a file, but there is no file nope.json\n',
    ]);
    expect(await readdir(dir)).toEqual([]);
  });

  test('two inputs that would write the same output, or a batch in remote mode, are refused before any work', async () => {
    const dir = await photos();
    await mkdir(join(dir, 'more'));
    await copyFile(fixture('gps.jpg'), join(dir, 'more', 'a.jpg'));
    const clash = await kiln(['image', '-i', 'a.jpg', 'more/a.jpg', '-o', 'out', '--format', 'webp'], {}, dir);
    expect([clash.code, clash.stderr]).toEqual([
      2,
      'invalid_input: Two inputs would write the same output, a.jpg and more/a.jpg: rename one or run them apart\n',
    ]);
    expect(existsSync(join(dir, 'out'))).toBe(false);
    const remote = await kiln(['image', '-i', 'a.jpg', 'b.jpg', '--format', 'webp'], { KILN_API_URL: base, KILN_API_KEY: 'k' }, dir);
    expect(remote.code).toBe(2);
    expect(remote.stderr).toMatch(/^invalid_input: Several inputs or outputs run on this machine only: add --local/);
  });
});
