import { execFile } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cleanupWorkDirs, videoStream, workDir } from '../support/inspect.ts';
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

function kiln(args: string[], env: Record<string, string | undefined> = {}, cwd?: string): Promise<CliRun> {
  const childEnv: Record<string, string | undefined> = { ...process.env, KILN_API_URL: undefined, ...env };
  for (const key of Object.keys(childEnv)) if (childEnv[key] === undefined) delete childEnv[key];
  return new Promise((done) => {
    execFile(NODE, [BIN, ...args], { env: childEnv as NodeJS.ProcessEnv, cwd }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/clip.mp4') {
      res.writeHead(200, { 'content-type': 'video/mp4' });
      createReadStream(fixture('clip.mp4')).pipe(res);
    } else {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  server.close();
  await cleanupWorkDirs();
});

describe('kiln CLI help and usage', () => {
  test('--help prints usage and exits 0', async () => {
    const run = await kiln(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Usage:/);
    expect((await kiln(['video', '--help'])).stdout).toMatch(/kiln video -i clip\.mov/);
  });

  test('no command prints usage on stderr and exits 2', async () => {
    const run = await kiln([]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Usage:/);
  });

  test('an unknown flag is a usage error without a stack trace', async () => {
    const run = await kiln(['video', '-i', 'a.mov', '-o', 'b.mp4', '--widht', '3']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("invalid_input: Unknown option '--widht'; see kiln --help\n");
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
      ['video', '-i', fixture('clip-1080p.mov'), '-o', 'clip-hd.mp4', '--width', '1920', '--quality', 'high'],
      {},
      dir,
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^wrote clip-hd\.mp4 \(video, mp4, 1920×1080/);
    expect(await videoStream(join(dir, 'clip-hd.mp4'))).toMatchObject({ codec_name: 'h264', profile: 'High', width: 1920, height: 1080 });
  });

  test('kiln image -i clip.mov -o clip-thumb.webp --start 2 --width 640', async () => {
    const dir = await workDir();
    const run = await kiln(['image', '-i', fixture('clip-1080p.mov'), '-o', 'clip-thumb.webp', '--start', '2', '--width', '640'], {}, dir);
    expect(run.code).toBe(0);
    // The clip is 2 s long, so a frame at 2 s does not exist: the CLI says which frame it used.
    expect(run.stderr).toMatch(/note: start 2 s was past the last frame; used 1\.96\d s\./);
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

  test('a bad input exits 1 with kind and message only', async () => {
    const run = await kiln(['video', '-i', fixture('text.mp4'), '-o', join(await workDir(), 'x.mp4')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('input_not_media: The input is not a video, audio or image file Kiln can read.\n');
  });

  test('--json failures are JSON on stdout', async () => {
    const run = await kiln(['image', '-i', fixture('bomb.png'), '-o', join(await workDir(), 'x.png'), '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, error: { kind: 'too_many_pixels' } });
  });

  test('probe prints the file description', async () => {
    const run = await kiln(['probe', '-i', fixture('rotated.mov')]);
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
