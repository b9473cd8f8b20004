import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_LIMITS, type Limits } from '../../../container/limits.ts';
import { runTask } from '../../../container/run/index.ts';
import type { ProcessorEvent, ProcessorTask } from '../../../schemas/processor.ts';
import { probe } from '../../support/inspect.ts';
import { fixture } from '../../support/media.ts';

/**
 * Plays storage and the Worker for whole runs over real HTTP: serves inputs, takes output PUTs,
 * records every callback, and answers refresh requests with the URLs a test queued.
 */
let server: Server;
let base = '';
const inputs = new Map<string, Buffer>();
const puts = new Map<string, { body: Buffer; type: string | undefined }>();
const fetched = new Map<string, number>();
const events = new Map<string, ProcessorEvent[]>();
const freshAnswers = new Map<string, unknown>();

const ENTITY_SVG =
  '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">&a;</svg>';

beforeAll(async () => {
  for (const name of ['clip.mp4', 'text.mp4', 'external.svg', 'photo.png'] as const) inputs.set(`/${name}`, await readFile(fixture(name)));
  inputs.set('/entity.svg', Buffer.from(ENTITY_SVG));
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const body = Buffer.concat(chunks);
      if (req.method === 'GET') fetched.set(path, (fetched.get(path) ?? 0) + 1);
      if (path.startsWith('/callback/')) {
        const id = path.slice('/callback/'.length);
        events.set(id, [...(events.get(id) ?? []), JSON.parse(body.toString())]);
        return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      }
      if (path.startsWith('/fresh/')) {
        const answer = freshAnswers.get(path.slice('/fresh/'.length));
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      }
      if (req.method === 'PUT' && path.startsWith('/out/')) {
        puts.set(path, { body, type: req.headers['content-type'] });
        return void res.writeHead(200).end();
      }
      const input = inputs.get(path);
      if (req.method === 'GET' && input) return void res.writeHead(200, { 'content-length': input.length }).end(input);
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let ids = 0;

/** Runs one task to its end through real HTTP; returns its callbacks, its temp root and its job id. */
async function run(
  fields: Pick<ProcessorTask, 'kind' | 'output'> & Partial<ProcessorTask> & { input: string },
  opts: { waited?: boolean; limits?: Limits } = {},
) {
  const id = `job_${String(++ids).padStart(26, '0')}`;
  const tmpRoot = await mkdtemp(join(tmpdir(), 'kiln-run-'));
  const { input, ...rest } = fields;
  const task: ProcessorTask = {
    job_id: id,
    attempt: 1,
    options: {},
    input_url: `${base}${input}`,
    callback: { url: `${base}/callback/${id}`, token: 't'.repeat(32) },
    ...rest,
  };
  await runTask(task, {
    limits: opts.limits ?? DEFAULT_LIMITS,
    allowLoopback: true,
    tmpRoot,
    ...(opts.waited ? { waitForSlot: async () => ({ release: () => {}, waited: true }) } : {}),
  });
  const reported = events.get(id) ?? [];
  const last = reported.at(-1);
  return { id, reported, last, leftovers: await readdir(tmpRoot) };
}

const none = { type: 'none' } as const;
const file = (name: string) => ({ type: 'file', url: `${base}/out/${name}` }) as const;

describe('a probe run', () => {
  test("reports the input's MediaInfo as ffprobe sees it, uploads nothing, and leaves no temp files", async () => {
    const { reported, last, leftovers } = await run({ kind: 'probe', input: '/clip.mp4', output: none });
    const streams = (await probe(fixture('clip.mp4'))).streams ?? [];
    const video = streams.find((s) => s.codec_type === 'video');
    const audio = streams.find((s) => s.codec_type === 'audio');
    expect(last).toMatchObject({
      type: 'succeeded',
      output: {
        kind: 'video',
        type: 'video/mp4',
        width: video?.width,
        height: video?.height,
        codecs: { video: video?.codec_name, audio: audio?.codec_name },
        has_audio: true,
        filesize: inputs.get('/clip.mp4')?.length,
      },
    });
    if (last?.type !== 'succeeded') throw new Error('not succeeded');
    expect([last.output.width, last.output.height, last.output.codecs]).toEqual([640, 360, { video: 'h264', audio: 'aac' }]);
    expect(last.output.duration).toBeCloseTo(2, 1);
    // Progress is best effort (one POST at a time), but the probe's result always reaches the
    // Worker before the end, and a probe never reports an encode or an export stage.
    const stages = reported.filter((e) => e.type === 'progress').map((e) => e.stage);
    expect(stages.filter((s) => s !== 'import' && s !== 'probe')).toEqual([]);
    expect(reported.find((e) => e.type === 'progress' && e.input)).toMatchObject({ stage: 'probe', progress: 100 });
    expect(reported.filter((e) => e.type !== 'progress')).toHaveLength(1);
    expect(leftovers).toEqual([]);
  });

  test('a run that cannot make its temp folder fails in the stage it reached, not in an encode it never started', async () => {
    const id = `job_${String(++ids).padStart(26, '0')}`;
    await runTask(
      {
        job_id: id,
        attempt: 1,
        kind: 'probe',
        options: {},
        input_url: `${base}/clip.mp4`,
        output: none,
        callback: { url: `${base}/callback/${id}`, token: 't'.repeat(32) },
      },
      { limits: DEFAULT_LIMITS, allowLoopback: true, tmpRoot: join(fixture('clip.mp4'), 'not-a-folder') },
    );
    expect(events.get(id)?.at(-1)).toMatchObject({ type: 'failed', stage: 'import', error: { kind: 'processing_failed' } });
  });

  test('refuses an input that is not media with the kind and message an encode gives', async () => {
    const probed = await run({ kind: 'probe', input: '/text.mp4', output: none });
    const encoded = await run({ kind: 'video', input: '/text.mp4', output: file('text-video') });
    expect(probed.last).toMatchObject({ type: 'failed', stage: 'probe', error: { kind: 'input_not_media' } });
    expect(probed.last?.type === 'failed' && probed.last.error).toEqual(encoded.last?.type === 'failed' && encoded.last.error);
    expect(probed.leftovers).toEqual([]);
  });

  test('a run that waited for a slot asks for fresh URLs and probes the fresh input', async () => {
    const id = `job_${String(ids + 1).padStart(26, '0')}`;
    freshAnswers.set(id, { input_url: `${base}/clip.mp4`, output: none });
    const { last } = await run({ kind: 'probe', input: '/expired', output: none, refresh_url: `${base}/fresh/${id}` }, { waited: true });
    expect(last).toMatchObject({ type: 'succeeded', output: { width: 640, height: 360 } });
    expect(fetched.get('/expired')).toBeUndefined();
  });
});

describe('a copy run', () => {
  test('uploads the downloaded bytes unchanged with the probed MIME type and reports their MediaInfo', async () => {
    const { reported, last, leftovers } = await run({ kind: 'copy', input: '/clip.mp4', output: file('copy.mp4') });
    const put = puts.get('/out/copy.mp4');
    expect(put?.type).toBe('video/mp4');
    expect(sha256(put?.body ?? Buffer.alloc(0))).toBe(sha256(await readFile(fixture('clip.mp4'))));
    expect(last).toMatchObject({
      type: 'succeeded',
      output: { kind: 'video', type: 'video/mp4', width: 640, height: 360, codecs: { video: 'h264', audio: 'aac' } },
    });
    expect(reported.filter((e) => e.type === 'progress').map((e) => e.stage)).not.toContain('encode');
    expect(reported.find((e) => e.type === 'progress' && e.input)).toMatchObject({ input: { width: 640, height: 360 } });
    expect(leftovers).toEqual([]);
  });

  test('stores an SVG as it came, external references and all (nothing renders it), typed image/svg+xml', async () => {
    const { last } = await run({ kind: 'copy', input: '/external.svg', output: file('external.svg') });
    expect(last).toMatchObject({ type: 'succeeded', output: { kind: 'image', type: 'image/svg+xml' } });
    expect(sha256(puts.get('/out/external.svg')?.body ?? Buffer.alloc(0))).toBe(sha256(await readFile(fixture('external.svg'))));
    expect(puts.get('/out/external.svg')?.type).toBe('image/svg+xml');
  });

  test.each([
    ['not media', '/text.mp4'],
    ['an SVG with entity declarations', '/entity.svg'],
  ])('refuses an input that is %s exactly as an encode does, and uploads nothing', async (_what, input) => {
    const copied = await run({ kind: 'copy', input, output: file(`refused${input}`) });
    const encoded = await run({ kind: 'image', options: { format: 'png' }, input, output: file(`encoded${input}`) });
    if (copied.last?.type !== 'failed' || encoded.last?.type !== 'failed') throw new Error('expected both runs to fail');
    expect(copied.last.stage).toBe('probe');
    expect(copied.last.error).toEqual(encoded.last.error);
    expect(puts.has(`/out/refused${input}`)).toBe(false);
    expect(copied.leftovers).toEqual([]);
  });

  test('refuses an input over the pixel limit as an encode does', async () => {
    const limits = { ...DEFAULT_LIMITS, maxImagePixels: 1_000_000 };
    const { last } = await run({ kind: 'copy', input: '/photo.png', output: file('too-big.png') }, { limits });
    expect(last).toMatchObject({
      type: 'failed',
      stage: 'probe',
      error: { kind: 'too_many_pixels', message: 'The image is 2000×1500 (3 MP); the limit is 1 MP.' },
    });
    expect(puts.has('/out/too-big.png')).toBe(false);
  });
});

describe('a run whose output does not fit its kind', () => {
  const outputs = {
    none: () => none,
    file: () => file('mismatch'),
    folder: () => ({ type: 'folder', files_url: `${base}/out/files` }) as const,
  };
  test.each([
    ['probe', 'file', 'A probe run writes nothing, so its output must be {"type": "none"}'],
    ['probe', 'folder', 'A probe run writes nothing, so its output must be {"type": "none"}'],
    ['copy', 'none', 'A copy run writes one file unchanged, so its output must be {"type": "file"}'],
    ['copy', 'folder', 'A copy run writes one file unchanged, so its output must be {"type": "file"}'],
    ['video', 'none', 'A video run writes its encoded output, so its output must be a file or a folder'],
  ] as const)('%s with a %s output fails before downloading, saying which output it needs', async (kind, type, message) => {
    const input = `/clip.mp4?mismatch=${kind}-${type}`;
    const { reported, last, leftovers } = await run({ kind, input, output: outputs[type]() });
    expect(last).toEqual({
      type: 'failed',
      attempt: 1,
      stage: 'import',
      error: {
        kind: 'invalid_input',
        message: `${message} but received {"type": "${type}"}; deploy the Worker and the processor from the same Kiln version.`,
      },
    });
    expect(reported.filter((e) => e.type !== 'progress')).toHaveLength(1);
    expect(fetched.get(input)).toBeUndefined();
    expect(leftovers).toEqual([]);
  });

  test('fresh URLs that no longer fit the kind fail the run the same way', async () => {
    const id = `job_${String(ids + 1).padStart(26, '0')}`;
    freshAnswers.set(id, { input_url: `${base}/clip.mp4`, output: file('fresh') });
    const { last } = await run({ kind: 'probe', input: '/clip.mp4', output: none, refresh_url: `${base}/fresh/${id}` }, { waited: true });
    expect(last).toMatchObject({ type: 'failed', stage: 'import', error: { kind: 'invalid_input' } });
    expect(puts.has('/out/fresh')).toBe(false);
  });
});

describe('options of a standalone run', () => {
  test.each(['probe', 'copy'] as const)('a %s run with options fails before downloading, naming each option', async (kind) => {
    const input = `/clip.mp4?options=${kind}`;
    const output = kind === 'probe' ? none : file(`options-${kind}`);
    const { last } = await run({ kind, input, output, options: { width: 640, format: 'webp' } });
    expect(last).toMatchObject({
      type: 'failed',
      stage: 'import',
      error: {
        kind: 'invalid_input',
        message: `A ${kind} task takes no options: Unknown field options.width; remove it or check its spelling; Unknown field options.format; remove it or check its spelling`,
      },
    });
    expect(fetched.get(input)).toBeUndefined();
  });
});
