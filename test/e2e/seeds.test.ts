import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsClient } from 'aws4fetch';
import sharp from 'sharp';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../schemas/job.ts';
import { devVars } from '../support/dev-vars.ts';
import {
  audioStream,
  cleanupWorkDirs,
  frameAt,
  imageDifference,
  probe,
  SAME_FRAME_MAX_DIFFERENCE,
  topLevelAtoms,
  videoStream,
} from '../support/inspect.ts';
import { fixture } from '../support/media.ts';
import { startReceiver } from './support/receiver.ts';
import { hasPythonRequests, runSeed } from './support/seeds.ts';
import { API_KEY, LOCAL_S3, startStack } from './support/stack.ts';

/** The user's documents use these inputs; the tests serve the same kind of file from loopback. */
const DARKROOM_CLIP = 'https://darkroom-app.com/uploads/clip.mov';
const TAPESTRY_CLIP = 'https://tapestry-app.com/submissions/video-9182.mov';

let stack: Awaited<ReturnType<typeof startStack>>;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let dir: string;

beforeAll(async () => {
  stack = await startStack({ extraBuckets: ['uploads', 'processed'] });
  receiver = await startReceiver();
  dir = await mkdtemp(join(tmpdir(), 'kiln-seeds-'));
});
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
  await cleanupWorkDirs();
});

const inputs = () => ({ [DARKROOM_CLIP]: stack.mediaUrl('clip-1080p.mov'), [TAPESTRY_CLIP]: stack.mediaUrl('clip-1080p.mov') });

/** The seed's bare JSON bodies are POSTed to /jobs as they stand (inputs swapped). */
async function submitSeedJson(file: string, opts: Parameters<typeof runSeed>[1]): Promise<Job> {
  return (await stack.api<Job>('/jobs', { method: 'POST', json: await runSeed(file, opts) })).body;
}

async function saved(job: Job, name: string): Promise<string> {
  expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
  const res = await fetch(job.output!.url);
  expect(res.status).toBe(200);
  const path = join(dir, name);
  await writeFile(path, Buffer.from(await res.arrayBuffer()));
  return path;
}

async function expectWebMp4(path: string, width: number, height: number) {
  const video = await videoStream(path);
  expect(video).toMatchObject({ codec_name: 'h264', pix_fmt: 'yuv420p', width, height });
  expect(await audioStream(path)).toMatchObject({ codec_name: 'aac', sample_rate: '48000', channels: 2 });
  const atoms = await topLevelAtoms(path);
  expect(atoms.indexOf('moov')).toBeLessThan(atoms.indexOf('mdat'));
  expect(Number((await probe(path)).format?.duration)).toBeCloseTo(1, 0);
}

describe('seed: build a user upload pipeline', () => {
  it('runs the HD, thumbnail and preview jobs in parallel and polls them to web-ready files', async () => {
    const key = { base: stack.base, key: API_KEY, inputs: inputs() };
    const [hd, thumb, preview] = (await Promise.all([
      runSeed('upload-video.sh', key),
      submitSeedJson('thumbnail.json', key),
      submitSeedJson('preview.json', key),
    ])) as Job[];
    const [hdJob, thumbJob, previewJob] = await Promise.all([hd!, thumb!, preview!].map((j) => stack.waitForJob(j.id)));

    await expectWebMp4(await saved(hdJob!, 'clip-hd.mp4'), 1920, 1080);
    expect(hdJob!.options).toEqual({ width: 1920, format: 'mp4', quality: 'high' });

    const thumbPath = await saved(thumbJob!, 'clip-thumb.webp');
    const meta = await sharp(thumbPath).metadata();
    expect(meta).toMatchObject({ format: 'webp', width: 640, height: 360 });
    // thumbnail.json asks for 2 s into a 1 s clip at 30 fps: the last frame, shown from 29/30 s.
    const clip = fixture('clip-1080p.mov');
    expect(await imageDifference(thumbPath, await frameAt(clip, 0.95))).toBeLessThan(SAME_FRAME_MAX_DIFFERENCE);
    for (const wrong of [0, 0.5, 0.9])
      expect(await imageDifference(thumbPath, await frameAt(clip, wrong))).toBeGreaterThan(SAME_FRAME_MAX_DIFFERENCE);

    await expectWebMp4(await saved(previewJob!, 'clip-preview.mp4'), 480, 270);
    const hdSize = hdJob!.output!.filesize;
    expect(previewJob!.output!.filesize).toBeLessThan(hdSize);
  });

  it('runs the TypeScript and Python snippets verbatim', async () => {
    const opts = { base: stack.base, key: API_KEY, inputs: inputs() };
    const ts = (await runSeed('upload-video.ts', opts)) as Job;
    expect(ts).toMatchObject({ object: 'job', kind: 'video', status: 'queued' });
    if (await hasPythonRequests()) {
      const py = (await runSeed('upload-video.py', opts)) as Job;
      expect(py).toMatchObject({ object: 'job', kind: 'video', options: { width: 1920, quality: 'high' } });
    }
    expect((await stack.waitForJob(ts.id)).status).toBe('succeeded');
  });

  it('turns photo.png into 1920 and 320 WebP, as the image pipeline asks', async () => {
    for (const width of [1920, 320]) {
      const { body } = await stack.api<Job>('/jobs', {
        method: 'POST',
        json: {
          input: stack.mediaUrl('photo.png'),
          kind: 'image',
          options: { width, format: 'webp', quality: width > 1000 ? 'high' : 'medium' },
        },
      });
      const path = await saved(await stack.waitForJob(body.id), `photo-${width}.webp`);
      const meta = await sharp(path).metadata();
      expect(meta).toMatchObject({ format: 'webp', width, height: Math.round((width * 1500) / 2000) });
      expect(meta.exif).toBeUndefined();
    }
  });
});

describe('seed: attach metadata to jobs', () => {
  it('returns metadata on the job, in GET /jobs filters and in the signed webhook', async () => {
    const opts = { base: stack.base, key: API_KEY, inputs: inputs() };
    const created = (await runSeed('metadata.sh', opts)) as Job;
    const metadata = { user_id: 'usr_abc123', submission_id: 'sub_9182', campaign: 'summer-launch' };
    expect(created.metadata).toEqual(metadata);
    const hooked = await stack.api<Job>('/jobs', {
      method: 'POST',
      json: {
        input: stack.mediaUrl('clip-1080p.mov'),
        kind: 'video',
        options: { width: 1280, format: 'mp4' },
        metadata,
        webhook_url: receiver.url(),
      },
    });
    const [done] = await Promise.all([stack.waitForJob(hooked.body.id), stack.waitForJob(created.id)]);
    expect(done.metadata).toEqual(metadata);

    const listed = await stack.api<Job[]>('/jobs?metadata[submission_id]=sub_9182&metadata[campaign]=summer-launch');
    expect(listed.body.map((j) => j.id).sort()).toEqual([created.id, hooked.body.id].sort());

    const deadline = Date.now() + 15_000;
    while (!receiver.received.some((r) => r.body.includes(hooked.body.id)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const delivery = receiver.received.find((r) => r.body.includes(hooked.body.id))!;
    const payload = new Webhook(devVars().WEBHOOK_SECRET!).verify(delivery.body, delivery.headers) as Job;
    expect(payload).toMatchObject({ id: hooked.body.id, status: 'succeeded', metadata });
    expect(payload.output?.url).toMatch(/^http/);
    const ts = (await runSeed('metadata.ts', opts)) as Job;
    expect(ts.metadata).toEqual(metadata);
    if (await hasPythonRequests()) expect(((await runSeed('metadata.py', opts)) as Job).metadata).toEqual(metadata);
  });
});

describe('seed: with S3 storage', () => {
  it('reads s3://uploads/clip.mov and writes s3://processed/clip-hd.mp4 through a connection', async () => {
    const s3 = new AwsClient({ ...LOCAL_S3, service: 's3' });
    const endpoint = `${stack.base}/cdn-cgi/local/r2/s3`;
    const put = await s3.fetch(`${endpoint}/uploads/clip.mov`, { method: 'PUT', body: await readFile(fixture('clip-1080p.mov')) });
    expect(put.status).toBe(200);
    const conn = await stack.api<{ id: string }>('/connections', {
      method: 'POST',
      json: {
        endpoint,
        region: 'auto',
        access_key_id: LOCAL_S3.accessKeyId,
        secret_access_key: LOCAL_S3.secretAccessKey,
        is_default: true,
      },
    });
    expect(conn.status).toBe(201);

    for (const snippet of ['s3.sh', 's3.ts']) {
      const created = (await runSeed(snippet, { base: stack.base, key: API_KEY })) as Job;
      const job = await stack.waitForJob(created.id);
      expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
      expect(job.output?.url).toBe('s3://processed/clip-hd.mp4');
      const res = await s3.fetch(`${endpoint}/processed/clip-hd.mp4`);
      expect(res.status).toBe(200);
      const path = join(dir, `s3-${snippet}.mp4`);
      await writeFile(path, Buffer.from(await res.arrayBuffer()));
      await expectWebMp4(path, 1920, 1080);
    }
  });
});
