import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AwsClient } from 'aws4fetch';
import createClient from 'openapi-fetch';
import sharp from 'sharp';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isTerminal, type Job } from '../../schemas/job.ts';
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
import type { paths } from './support/kiln-api.d.ts';
import { freePort } from './support/processes.ts';
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

describe('seed: the upload pipeline through a client generated from /openapi.json', () => {
  it('uploads a clip, runs the three jobs and polls them to outputs of the right size (openapi-typescript + openapi-fetch)', async () => {
    const kiln = createClient<paths>({ baseUrl: stack.base, headers: { Authorization: `Bearer ${API_KEY}` } });
    const upload = await kiln.POST('/uploads', { body: { filename: 'clip.mov', content_type: 'video/quicktime' } });
    if (!upload.data) throw new Error(`POST /uploads failed: ${JSON.stringify(upload.error)}`);
    const put = await fetch(upload.data.upload_url, {
      method: 'PUT',
      headers: { 'content-type': 'video/quicktime' },
      body: await readFile(fixture('clip-1080p.mov')),
    });
    expect(put.status).toBe(200);

    const seedJobs = [
      { kind: 'video', options: { width: 1920, format: 'mp4', quality: 'high' } },
      { kind: 'image', options: { start: 2, width: 640, format: 'webp' } },
      { kind: 'video', options: { width: 480, quality: 'low', format: 'mp4' } },
    ] as const;
    const created = await Promise.all(seedJobs.map((job) => kiln.POST('/jobs', { body: { input: upload.data.file.id, ...job } })));
    const ids = created.map(({ data, error }) => data?.id ?? JSON.stringify(error));
    const finished = await Promise.all(
      ids.map((id) =>
        vi.waitFor(
          async () => {
            const { data } = await kiln.GET('/jobs/{id}', { params: { path: { id } } });
            if (!data || !isTerminal(data.status)) throw new Error(`job ${id} is ${data?.status}`);
            return data;
          },
          { timeout: 90_000, interval: 250 },
        ),
      ),
    );
    const [hd, thumb, preview] = finished.map((job) => {
      expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
      return job.output!.url;
    });
    expect(await videoStream(await fetched(hd!, 'client-hd.mp4'))).toMatchObject({ width: 1920, height: 1080 });
    expect(await sharp(await fetched(thumb!, 'client-thumb.webp')).metadata()).toMatchObject({ format: 'webp', width: 640, height: 360 });
    expect(await videoStream(await fetched(preview!, 'client-preview.mp4'))).toMatchObject({ width: 480, height: 270 });
  });
});

async function fetched(url: string, name: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  const path = join(dir, name);
  await writeFile(path, Buffer.from(await res.arrayBuffer()));
  return path;
}

/** A port nothing listens on now, for the walkthrough's webhook receiver (two e2e stacks may run at once). */
describe("README: the five-minute walkthrough's block", () => {
  it('uploads, says so, starts the three jobs, waits until all are finished and logs their webhooks to a file', async () => {
    const readme = await readFile(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Five-minute walkthrough'));
    const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
    for (const swapped of ['http://127.0.0.1:8787', '9999', ' -t 5 ', 'size=1920x1080']) expect(block).toContain(swapped);
    const port = String(await freePort());
    // The dev stack's address and the receiver's port are this test's. A 1 s 320x240 clip keeps it
    // cheap: Kiln never upscales, so every job still succeeds; the sizes are the client test's to check.
    const script = block
      .replaceAll('http://127.0.0.1:8787', stack.base)
      .replaceAll('9999', port)
      .replace(' -t 5 ', ' -t 1 ')
      .replace('size=1920x1080', 'size=320x240');
    const cwd = await mkdtemp(join(tmpdir(), 'kiln-walkthrough-'));
    // A step that fails stops the receiver it started; on success the test stops it once the webhooks are in.
    const run = `set -euo pipefail\ntrap 'kill \${RECEIVER:-} 2>/dev/null' ERR\n${script}\necho "receiver $RECEIVER"`;
    const { stdout } = await promisify(execFile)('bash', ['-c', run], { cwd });
    const receiverPid = Number(/^receiver (\d+)$/m.exec(stdout)![1]);
    try {
      expect(stdout).toMatch(/^uploaded clip\.mov: HTTP 200, \d+ bytes$/m);
      expect(stdout).toMatch(/^file id: file_\w+$/m);
      const ids = [...stdout.matchAll(/^created (job_\w+)$/gm)].map((m) => m[1]!);
      expect(ids).toHaveLength(3);
      for (const id of ids)
        expect(stdout).toMatch(new RegExp(`^${id} succeeded ${stack.base}/files/outputs/${id}/file_\\w+\\.(mp4|webp)$`, 'm'));
      const log = join(cwd, 'walkthrough', 'webhooks.log');
      await vi.waitFor(async () => expect((await readFile(log, 'utf8')).trim().split('\n')).toHaveLength(3), { timeout: 15_000 });
      for (const id of ids) expect(await readFile(log, 'utf8')).toContain(id);
    } finally {
      process.kill(receiverPid);
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
