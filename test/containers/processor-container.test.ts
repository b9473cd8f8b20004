import { execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VIDEO_QUALITY_TIERS } from '../../container/video/quality.ts';
import type { Job, JobEvent } from '../../schemas/job.ts';
import { download } from '../support/api-client.ts';
import { probe, topLevelAtoms, videoStream } from '../support/inspect.ts';
import { fixture } from '../support/media.ts';
import {
  type ContainerStack,
  containerMemoryMiB,
  dockerEnv,
  killContainer,
  processorContainers,
  startContainerStack,
} from './support/stack.ts';

/**
 * The production path, run for real: Worker → Queue → ProcessorContainer (the Dockerfile, built
 * by wrangler and run by Docker) → local R2 through presigned URLs → callbacks → webhooks.
 * Settings are shrunk so each drill takes seconds, not minutes: a 20 s idle timer, two instances
 * of one slot each and no backlog, and a 30 s heartbeat watchdog (production waits 60 s; 15 s lost
 * healthy runs when this tier shared two cores with the others, as heartbeats reached a busy Worker late).
 */
const SLEEP_AFTER_S = 20;
const INSTANCES = 2;
const HEARTBEAT_TIMEOUT_S = 30;

let stack: ContainerStack;
let media: string;

/**
 * The long drills encode a 1080p clip at `very_high`; its length is set from how fast this machine
 * encodes, so each run lasts about TARGET_RUN_S here and on a machine four times as fast. Three
 * times sleepAfter leaves room for the container to encode three times faster than the calibration
 * (which runs while the other test files start) and still outlast the idle timer.
 */
const TARGET_RUN_S = 3 * SLEEP_AFTER_S;
/**
 * The capacity drill's jobs each encode about this long: far longer than dispatching them all and
 * than a cold container start (5–8 s here). An offer that waits for a stopped instance to start
 * and is then refused tries the next instance; were that one's run already over, the last job
 * would rightly take its freed slot and never have to wait (CI saw this with 10 s runs at 640 px).
 */
const BUSY_RUN_S = 20;
const CLIP_FPS = 30;
let longClipS = 0;
let busyClipS = 0;

function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-v', 'error', '-y', ...args]);
}

function testClip(path: string, seconds: number): void {
  // biome-ignore format: ffmpeg arguments read as flag/value pairs
  ffmpeg([
    ...[
      '-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=${CLIP_FPS}:duration=${seconds}`,
      '-f', 'lavfi', '-i', `sine=duration=${seconds}`,
    ],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', path],
  ]);
}

/** Clip seconds whose `very_high` H.264 encode takes about TARGET_RUN_S on this machine. */
function calibratedClipSeconds(): number {
  const sample = join(media, 'sample.mp4');
  testClip(sample, 2);
  const { crf, preset } = VIDEO_QUALITY_TIERS.very_high.h264;
  const started = performance.now();
  ffmpeg(['-i', sample, '-c:v', 'libx264', '-preset', preset, '-crf', String(crf), '-an', '-f', 'null', '-']);
  const framesPerS = (2 * CLIP_FPS) / ((performance.now() - started) / 1000);
  return Math.min(300, Math.max(10, Math.ceil((TARGET_RUN_S * framesPerS) / CLIP_FPS)));
}

async function submit(body: Record<string, unknown>): Promise<string> {
  const { status, body: job } = await stack.api<Job>('/jobs', { method: 'POST', json: body });
  expect(status).toBe(201);
  return job.id;
}

async function events(id: string): Promise<JobEvent[]> {
  return (await stack.api<JobEvent[]>(`/jobs/${id}/events`)).body;
}

/**
 * The attempts a processor took on: every run started minus those handed back at dispatch (the
 * instance still busy with the previous job, or its container still starting), which are retried
 * as they should be.
 */
function runsTaken(history: JobEvent[]): number[] {
  const attempts = (type: string) => history.filter((e) => e.type === type).map((e) => (e.detail as { attempt: number }).attempt);
  const deferred = attempts('run_deferred');
  return attempts('run_started').filter((a) => !deferred.includes(a));
}

async function waitUntil<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${stack.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe.skipIf(!dockerEnv)('the processor as a Cloudflare Container', () => {
  beforeAll(async () => {
    media = await mkdtemp(join(tmpdir(), 'kiln-containers-media-'));
    longClipS = calibratedClipSeconds();
    busyClipS = Math.max(1, Math.ceil((BUSY_RUN_S * longClipS) / TARGET_RUN_S));
    testClip(join(media, 'long.mp4'), longClipS);
    testClip(join(media, 'busy.mp4'), busyClipS);
    stack = await startContainerStack({
      maxInstances: INSTANCES,
      vars: {
        CONTAINER_SLEEP_AFTER: `${SLEEP_AFTER_S}s`,
        HEARTBEAT_TIMEOUT_S: String(HEARTBEAT_TIMEOUT_S),
        KILN_CONCURRENCY: '1',
        KILN_BACKLOG: '0',
      },
    });
    console.log(`[containers] wrangler dev with the image ready in ${(stack.startupMs / 1000).toFixed(1)} s; long clip ${longClipS} s`);
  }, 15 * 60_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('turns an uploaded phone clip into an upright faststart MP4, in a container built from the Dockerfile', async () => {
    const health = await (await fetch(`${stack.base}/health`)).json();
    expect(health).toMatchObject({ processor: { via: 'container' } });
    const file = await stack.upload(fixture('rotated.mov'), 'video/quicktime');
    const id = await submit({ input: file, kind: 'video', options: { width: 360, format: 'mp4' }, metadata: { user_id: 'usr_1' } });
    const job = await stack.waitForJob(id, 180_000);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    const running = processorContainers();
    expect(running.length).toBeGreaterThan(0);
    expect(running[0]!.image).toMatch(/processorcontainer/);
    const path = await download(job.output!.url, media, 'rotated-out.mp4');
    expect(await videoStream(path)).toMatchObject({ codec_name: 'h264', pix_fmt: 'yuv420p', width: 360, height: 640 });
    const atoms = await topLevelAtoms(path);
    expect(atoms.indexOf('moov')).toBeLessThan(atoms.indexOf('mdat'));
  });

  it('decodes HEIC and encodes WebP inside the image (its libraries are all there)', async () => {
    const file = await stack.upload(fixture('photo.heic'), 'image/heic');
    const id = await submit({ input: file, kind: 'image', options: { width: 160, format: 'webp' } });
    const job = await stack.waitForJob(id, 120_000);
    expect(job.error).toBeNull();
    expect(job.output).toMatchObject({ format: 'webp', width: 160, height: 120 });
  });

  it(`keeps a container up through a run longer than sleepAfter (${SLEEP_AFTER_S} s), then lets it stop once idle`, async () => {
    const file = await stack.upload(join(media, 'long.mp4'), 'video/mp4');
    const id = await submit({ input: file, kind: 'video', options: { width: 1920, quality: 'very_high', format: 'mp4' } });
    // Peak memory of the container through a 1080p encode, to size the instance type (README "Deploy").
    let peakMiB = 0;
    const sampler = setInterval(() => {
      peakMiB = Math.max(peakMiB, ...containerMemoryMiB());
    }, 2_000);
    const job = await stack.waitForJob(id, 8 * 60_000).finally(() => clearInterval(sampler));
    console.log(`[containers] peak container memory during the 1080p very_high encode: ${peakMiB.toFixed(0)} MiB`);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    const ranS = (job.finished_at! - job.started_at!) / 1000;
    console.log(`[containers] long job ran ${ranS.toFixed(1)} s with sleepAfter ${SLEEP_AFTER_S} s`);
    // The idle timer ran out during the run and the container was kept up for it, not merely never asked.
    expect(ranS).toBeGreaterThan(SLEEP_AFTER_S);
    expect(stack.output()).toContain('container idle timer expired during runs; staying up');
    // One run did the work, never lost mid-run to a container that went to sleep.
    const history = await events(id);
    expect(runsTaken(history), JSON.stringify(history)).toHaveLength(1);
    expect(history.map((e) => e.type)).not.toContain('run_lost');
    const output = await download(job.output!.url, media, 'long-out.mp4');
    expect(Number((await probe(output)).format?.duration)).toBeCloseTo(longClipS, 0);
    // Idle now: every instance stops within sleepAfter plus one check of the idle timer.
    await waitUntil(
      'idle containers to stop',
      () => (processorContainers().length === 0 ? true : undefined),
      3 * SLEEP_AFTER_S * 1000 + 30_000,
    );
    console.log(`[containers] no container running ${((Date.now() - job.finished_at!) / 1000).toFixed(1)} s after the job ended`);
  });

  it('retries a run whose container is killed mid-encode on a fresh instance, and succeeds', async () => {
    const file = await stack.upload(join(media, 'long.mp4'), 'video/mp4');
    const id = await submit({ input: file, kind: 'video', options: { width: 1280, quality: 'low', format: 'mp4' } });
    await waitUntil(
      'the encode to start',
      async () => {
        const { body } = await stack.api<Job>(`/jobs/${id}`);
        return body.tasks.find((t) => t.kind === 'video')?.status === 'processing' ? true : undefined;
      },
      120_000,
    );
    const victims = processorContainers();
    expect(victims.length).toBeGreaterThan(0);
    const killedAt = Date.now();
    for (const c of victims) killContainer(c.id);
    const job = await stack.waitForJob(id, 5 * 60_000);
    console.log(`[containers] killed mid-encode; job ${job.status} ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    const types = (await events(id)).map((e) => e.type);
    expect(types).toContain('run_lost');
    expect(types.filter((t) => t === 'run_started').length).toBeGreaterThanOrEqual(2);
  });

  it(`runs one job more than instances × slots (${INSTANCES} × 1) at once: the queue backs off while every slot encodes, then all succeed`, async () => {
    // An upload each (jobs on one input sent together would run as one group in one slot), and
    // encodes of about BUSY_RUN_S (full width, the calibrated encode), so the last job offered
    // finds every slot still taken.
    const inputs = await Promise.all(Array.from({ length: INSTANCES + 1 }, () => stack.upload(join(media, 'busy.mp4'), 'video/mp4')));
    const ids = await Promise.all(
      inputs.map((input, i) => submit({ input, kind: 'video', options: { width: 1920 - 16 * i, quality: 'very_high', format: 'mp4' } })),
    );
    const jobs = await Promise.all(ids.map((id) => stack.waitForJob(id, 6 * 60_000)));
    expect(jobs.map((j) => j.status)).toEqual(ids.map(() => 'succeeded'));
    expect(jobs.map((j) => j.output?.width)).toEqual(ids.map((_, i) => 1920 - 16 * i));
    const histories = await Promise.all(ids.map(events));
    expect(
      histories.flat().some((e) => e.type === 'run_deferred' && JSON.stringify(e.detail).includes('busy')),
      JSON.stringify(histories),
    ).toBe(true);
  });
});

/**
 * A deploy mistake: a `KILN_*` var the processor cannot use. The container starts, but every task
 * is refused with the processor's own explanation, so the job fails at once naming the variable
 * instead of retrying for minutes or failing with an exit code. Its own stack, after the one above
 * has stopped: both need port 8787.
 */
describe.skipIf(!dockerEnv)('a misconfigured processor container', () => {
  let misconfigured: ContainerStack;

  beforeAll(async () => {
    misconfigured = await startContainerStack({ maxInstances: 1, vars: { KILN_MAX_INPUT_BYTES: 'lots' } });
  }, 15 * 60_000);

  afterAll(async () => {
    await misconfigured?.close();
  });

  it('fails the job at once with an error that names the setting to fix', async () => {
    const file = await misconfigured.upload(fixture('photo.png'), 'image/png');
    const { body } = await misconfigured.api<Job>('/jobs', {
      method: 'POST',
      json: { input: file, kind: 'image', options: { width: 100 } },
    });
    const job = await misconfigured.waitForJob(body.id, 180_000);
    expect(job.status).toBe('failed');
    expect(job.error).toEqual({ kind: 'processor_unavailable', message: expect.stringContaining('KILN_MAX_INPUT_BYTES') });
    const history = (await misconfigured.api<JobEvent[]>(`/jobs/${body.id}/events`)).body;
    expect(runsTaken(history), JSON.stringify(history)).toHaveLength(1);
  });
});
