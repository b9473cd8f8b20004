import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { traceFfmpeg } from '../../../container/ffmpeg/index.ts';
import { DEFAULT_LIMITS, type Limits } from '../../../container/limits.ts';
import { runGroup } from '../../../container/run/group.ts';
import { runTask } from '../../../container/run/index.ts';
import type { ProcessorEvent, ProcessorTask } from '../../../schemas/processor.ts';
import { imageDifference, SAME_FRAME_MAX_DIFFERENCE, videoStream } from '../../support/inspect.ts';
import { type FixtureName, fixture } from '../../support/media.ts';

const exec = promisify(execFile);

/** Plays storage and the Worker over real HTTP: serves inputs, takes PUTs, records callbacks, and answers 409 for cancelled jobs. */
let server: Server;
let base = '';
const puts = new Map<string, Buffer>();
const fetched = new Map<string, number>();
const events = new Map<string, ProcessorEvent[]>();
const cancelled = new Set<string>();
let scratch = '';

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'kiln-group-'));
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const path = req.url ?? '/';
      const body = Buffer.concat(chunks);
      if (path.startsWith('/callback/')) {
        const id = path.slice('/callback/'.length);
        events.set(id, [...(events.get(id) ?? []), JSON.parse(body.toString())]);
        return void res.writeHead(cancelled.has(id) ? 409 : 200, { 'content-type': 'application/json' }).end('{}');
      }
      if (req.method === 'PUT' && path.startsWith('/out/')) {
        puts.set(path, body);
        return void res.writeHead(200).end();
      }
      if (req.method === 'GET' && path.startsWith('/in/')) {
        fetched.set(path, (fetched.get(path) ?? 0) + 1);
        const input = await readFile(fixture(path.slice('/in/'.length) as FixtureName)).catch(() => null);
        if (input) return void res.writeHead(200, { 'content-length': input.length }).end(input);
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

let ids = 0;
type Spec = { kind: ProcessorTask['kind']; options: Record<string, unknown>; cancel?: boolean };

function task(input: FixtureName, spec: Spec): ProcessorTask {
  const id = `job_${String(++ids).padStart(26, '0')}`;
  if (spec.cancel) cancelled.add(id);
  return {
    job_id: id,
    attempt: 1,
    kind: spec.kind,
    options: spec.options,
    input_url: `${base}/in/${input}`,
    output: { type: 'file', url: `${base}/out/${id}` },
    callback: { url: `${base}/callback/${id}`, token: 't'.repeat(32) },
  };
}

interface Result {
  id: string;
  last: ProcessorEvent | undefined;
  /** The uploaded output, written to a file for ffprobe and sharp. */
  file: string | null;
}

async function results(tasks: ProcessorTask[]): Promise<Result[]> {
  return Promise.all(
    tasks.map(async (t) => {
      const body = puts.get(`/out/${t.job_id}`);
      const file = body ? join(scratch, t.job_id) : null;
      if (file && body) await writeFile(file, body);
      return { id: t.job_id, last: events.get(t.job_id)?.at(-1), file };
    }),
  );
}

/** Runs `specs` as one group and each as a separate run, on one input: the group's downloads, ffmpeg command lines and leftover temp files too. */
async function groupAndSeparate(input: FixtureName, specs: Spec[], limits: Limits = DEFAULT_LIMITS) {
  const tmpRoot = await mkdtemp(join(tmpdir(), 'kiln-group-run-'));
  const ctx = { limits, allowLoopback: true, tmpRoot };
  const grouped = specs.map((s) => task(input, s));
  const before = fetched.get(`/in/${input}`) ?? 0;
  const commands: string[] = [];
  traceFfmpeg((line) => {
    if (line.startsWith('$ ffmpeg ')) commands.push(line);
  });
  await runGroup({ tasks: grouped }, ctx).finally(() => traceFfmpeg(null));
  const downloads = (fetched.get(`/in/${input}`) ?? 0) - before;
  const separate = specs.map((s) => task(input, { ...s, cancel: false }));
  for (const t of separate) await runTask(t, ctx);
  return { group: await results(grouped), separate: await results(separate), downloads, commands, leftovers: await readdir(tmpRoot) };
}

/** ffmpeg's SSIM (All) of a video output against the source scaled to the output's size. */
async function ssimToSource(output: string, source: string): Promise<number> {
  const { width, height } = await videoStream(output);
  const { stderr } = await exec('ffmpeg', [
    '-hide_banner',
    '-i',
    output,
    '-i',
    source,
    '-lavfi',
    `[1:v]scale=${width}:${height}:flags=lanczos,format=yuv420p[ref];[0:v][ref]ssim`,
    '-f',
    'null',
    '-',
  ]);
  return Number(/All:([\d.]+)/.exec(stderr)?.[1]);
}

/** What must match between a coalesced output and the separate one: kind, format, size, codec, pixel format. */
async function shape(file: string | null) {
  if (!file) return null;
  const v = await videoStream(file);
  return { width: v.width, height: v.height, codec: v.codec_name, pix_fmt: v.pix_fmt, profile: v.profile };
}

function succeeded(r: Result) {
  if (r.last?.type !== 'succeeded') throw new Error(`${r.id} did not succeed: ${JSON.stringify(r.last)}`);
  return r.last;
}

describe('a group run', () => {
  // The one 1080p case the issue asks for: two HD encodes (group and separate) take a minute on a loaded machine.
  test('HD, thumbnail and preview from one download match the separate runs in kind, size, codec, tier and SSIM', {
    timeout: 240_000,
  }, async () => {
    const specs: Spec[] = [
      { kind: 'video', options: { width: 1280, format: 'mp4', quality: 'high' } },
      { kind: 'image', options: { start: 1, width: 320, format: 'webp' } },
      { kind: 'video', options: { height: 480, format: 'mp4', quality: 'low' } },
    ];
    const { group, separate, downloads, commands, leftovers } = await groupAndSeparate('clip-1080p.mov', specs);
    expect(downloads).toBe(1);
    expect(commands).toHaveLength(1);
    expect(leftovers).toEqual([]);
    for (const [i, g] of group.entries()) {
      const s = separate[i] as Result;
      const { output, notes } = succeeded(g);
      expect(output).toEqual({ ...succeeded(s).output, filesize: output.filesize });
      expect(notes ?? []).toEqual(succeeded(s).notes ?? []);
      expect(await shape(g.file)).toEqual(await shape(s.file));
    }
    const [hd, thumb, preview] = group as [Result, Result, Result];
    expect([succeeded(hd).output.width, succeeded(hd).output.height]).toEqual([1280, 720]);
    expect([succeeded(preview).output.width, succeeded(preview).output.height]).toEqual([852, 480]);
    expect(succeeded(thumb).output).toMatchObject({ format: 'webp', width: 320, height: 180 });
    // Same CRF and preset per tier: the files are within a few percent of each other in size, and as close to the source.
    for (const i of [0, 2]) {
      const [g, s] = [group[i] as Result, separate[i] as Result];
      const source = fixture('clip-1080p.mov');
      const [a, b] = await Promise.all([ssimToSource(g.file as string, source), ssimToSource(s.file as string, source)]);
      expect(Math.abs(a - b)).toBeLessThanOrEqual(0.001);
      // The split hands each encoder the frames its separate run decodes, and x264 is deterministic.
      expect(await readFile(g.file as string)).toEqual(await readFile(s.file as string));
    }
    expect(await imageDifference(thumb.file as string, separate[1]?.file as string)).toBeLessThan(SAME_FRAME_MAX_DIFFERENCE / 4);
    expect(await sharp(thumb.file as string).metadata()).toMatchObject({ format: 'webp', width: 320, height: 180 });
  });

  test('one output failing or cancelled leaves its siblings delivered, each with its own verdict', async () => {
    const { group } = await groupAndSeparate('clip.mp4', [
      { kind: 'video', options: { width: 320, quality: 'very_low' } },
      { kind: 'video', options: { start: 5 } },
      { kind: 'image', options: { start: 1, width: 160, format: 'webp' }, cancel: true },
      { kind: 'image', options: { start: 1, width: 160, format: 'jpeg' } },
      { kind: 'video', options: { width: 'wide' } },
    ]);
    const [preview, late, gone, thumb, invalid] = group as [Result, Result, Result, Result, Result];
    expect(succeeded(preview).output).toMatchObject({ kind: 'video', width: 320, height: 180 });
    expect(succeeded(thumb).output).toMatchObject({ kind: 'image', format: 'jpeg', width: 160, height: 90 });
    expect(late.last).toMatchObject({
      type: 'failed',
      stage: 'encode',
      error: { kind: 'invalid_input', message: 'start 5 s is at or past the end of the input (2 s); use a start below 2 s.' },
    });
    expect(late.file).toBeNull();
    expect(invalid.last).toMatchObject({ type: 'failed', stage: 'probe', error: { kind: 'invalid_input' } });
    expect(invalid.last?.type === 'failed' && invalid.last.error.message).toMatch(/options\.width/);
    // The Worker answered 409 (cancelled): nothing is uploaded, and the run stops reporting it.
    expect(gone.file).toBeNull();
    expect(events.get(gone.id)?.some((e) => e.type === 'succeeded')).toBe(false);
  });

  test('when the shared encode fails, each output is encoded again on its own and gets its own verdict', async () => {
    // The full-size output alone is over the byte limit, by more than the shared run allows all three together.
    const limits = { ...DEFAULT_LIMITS, maxOutputBytes: 40_000 };
    const { group, separate, commands } = await groupAndSeparate(
      'clip.mp4',
      [
        { kind: 'video', options: { quality: 'very_high' } },
        { kind: 'video', options: { width: 128, quality: 'very_low', mute: true } },
        { kind: 'video', options: { width: 96, quality: 'very_low', mute: true } },
      ],
      limits,
    );
    const [hd, small, preview] = group as [Result, Result, Result];
    expect(hd.last).toEqual(separate[0]?.last);
    expect(hd.last).toMatchObject({ type: 'failed', stage: 'encode', error: { kind: 'invalid_input' } });
    expect(hd.last?.type === 'failed' && hd.last.error.message).toMatch(/^The output grew past 40000 bytes/);
    // The shared run was stopped, then each output had its own ffmpeg run.
    expect(commands).toHaveLength(4);
    expect(commands[0]).toMatch(/split=3/);
    expect(succeeded(small).output).toMatchObject({ width: 128, height: 72 });
    expect(succeeded(preview).output).toMatchObject({ width: 96, height: 54 });
  });

  test('rotated and odd-sized sources come out as their separate runs do', async () => {
    for (const input of ['rotated.mov', 'odd.mkv'] as const) {
      const { group, separate } = await groupAndSeparate(input, [
        { kind: 'video', options: { quality: 'very_low' } },
        { kind: 'image', options: { format: 'png' } },
        { kind: 'video', options: { width: 101, quality: 'very_low' } },
      ]);
      for (const [i, g] of group.entries()) {
        const s = separate[i] as Result;
        expect(succeeded(g).output).toEqual({ ...succeeded(s).output, filesize: succeeded(g).output.filesize });
        if (i !== 1) expect(await shape(g.file)).toEqual(await shape(s.file));
      }
      expect(await imageDifference(group[1]?.file as string, separate[1]?.file as string)).toBeLessThan(SAME_FRAME_MAX_DIFFERENCE / 4);
    }
  });

  test('a photo to 1920 and 320 WebP is read once and gives the bytes the separate runs give', async () => {
    const { group, separate, downloads } = await groupAndSeparate('photo.png', [
      { kind: 'image', options: { width: 1920, format: 'webp' } },
      { kind: 'image', options: { width: 320, format: 'webp' } },
    ]);
    expect(downloads).toBe(1);
    for (const [i, g] of group.entries()) {
      expect(succeeded(g).output).toMatchObject({ format: 'webp', width: [1920, 320][i] });
      expect(await readFile(g.file as string)).toEqual(await readFile(separate[i]?.file as string));
    }
  });
});
