/**
 * Whole-pipeline benchmark (issue #5): a job through the local stack (submit → succeeded →
 * output downloaded) against the bare ffmpeg command with the same settings, on a 30 s 1080p
 * clip; then the seed's three-task upload pipeline (HD, thumbnail, preview) fired in parallel,
 * against the three bare ffmpeg commands run the same way.
 *
 *   node bench/pipeline.ts [--runs 3]
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { startStack } from '../test/e2e/support/stack.ts';
import { MEDIA_DIR } from '../test/support/media.ts';
import { seedBareCommands } from './seed-commands.ts';
import { fmt, median } from './stats.ts';

const run = promisify(execFile);
const WORK = resolve(import.meta.dirname, '.work');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const RUNS = Number(values.runs);
const SOURCE_SECONDS = 30;

await mkdir(WORK, { recursive: true });
await mkdir(MEDIA_DIR, { recursive: true });
const clipName = 'bench-1080p-30s.mov';
const clip = join(MEDIA_DIR, clipName);
if (!existsSync(clip)) {
  // Moving fine detail (a zooming Mandelbrot) with audio, near-lossless: the stand-in for camera footage.
  // biome-ignore format: ffmpeg arguments read as flag/value pairs
  await run('ffmpeg', [
    '-v', 'error', '-f', 'lavfi', '-i', `mandelbrot=size=1920x1080:rate=30,trim=duration=${SOURCE_SECONDS}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:duration=${SOURCE_SECONDS}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '12', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '192k', '-shortest', clip,
  ]);
}

const bare = seedBareCommands(clip);

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

const stack = await startStack();
async function kilnJob(body: Record<string, unknown>, out: string): Promise<void> {
  const created = await stack.api<{ id: string }>('/jobs', { method: 'POST', json: { input: stack.mediaUrl(clipName), ...body } });
  if (created.status !== 201) throw new Error(`POST /jobs answered ${created.status}`);
  const job = await stack.waitForJob(created.body.id, 30 * 60_000);
  if (job.status !== 'succeeded' || !job.output) throw new Error(`job ${job.status}: ${JSON.stringify(job.error)}`);
  await writeFile(out, Buffer.from(await (await fetch(job.output.url)).arrayBuffer()));
}

const HD = { kind: 'video', options: { width: 1920, format: 'mp4', quality: 'high' } };
const THUMB = { kind: 'image', options: { start: 2, width: 640, format: 'webp' } };
const PREVIEW = { kind: 'video', options: { width: 480, quality: 'low', format: 'mp4' } };

const single = { kiln: [] as number[], bare: [] as number[] };
const three = { kiln: [] as number[], bareParallel: [] as number[], bareSequential: [] as number[] };
for (let i = 0; i < RUNS; i++) {
  single.bare.push(await timed(() => run('ffmpeg', bare.hd(join(WORK, 'pipe-bare-hd.mp4')))));
  single.kiln.push(await timed(() => kilnJob(HD, join(WORK, 'pipe-kiln-hd.mp4'))));
  three.bareParallel.push(
    await timed(() =>
      Promise.all([
        run('ffmpeg', bare.hd(join(WORK, 'p3-hd.mp4'))),
        run('ffmpeg', bare.thumb(join(WORK, 'p3-thumb.webp'))),
        run('ffmpeg', bare.preview(join(WORK, 'p3-preview.mp4'))),
      ]),
    ),
  );
  three.bareSequential.push(
    await timed(async () => {
      await run('ffmpeg', bare.hd(join(WORK, 'p3-hd.mp4')));
      await run('ffmpeg', bare.thumb(join(WORK, 'p3-thumb.webp')));
      await run('ffmpeg', bare.preview(join(WORK, 'p3-preview.mp4')));
    }),
  );
  three.kiln.push(
    await timed(() =>
      Promise.all([
        kilnJob(HD, join(WORK, 'k3-hd.mp4')),
        kilnJob(THUMB, join(WORK, 'k3-thumb.webp')),
        kilnJob(PREVIEW, join(WORK, 'k3-preview.mp4')),
      ]),
    ),
  );
}
await stack.close();

const s = { kiln: median(single.kiln), bare: median(single.bare) };
const t = { kiln: median(three.kiln), par: median(three.bareParallel), seq: median(three.bareSequential) };
console.log(`\n## Whole pipeline on a ${SOURCE_SECONDS} s 1080p clip (median of ${RUNS})\n`);
console.log('| run | seconds | ratio |');
console.log('|---|---:|---:|');
console.log(`| bare ffmpeg, --quality high settings | ${fmt(s.bare, 2)} | 1.00 |`);
console.log(`| Kiln: submit → succeeded → downloaded | ${fmt(s.kiln, 2)} | ${fmt(s.kiln / s.bare, 2)} |`);
console.log('\n## Seed upload pipeline: HD + thumbnail + preview\n');
console.log('| run | seconds | Kiln ratio |');
console.log('|---|---:|---:|');
console.log(`| three bare ffmpeg commands in parallel | ${fmt(t.par, 2)} | ${fmt(t.kiln / t.par, 2)} |`);
console.log(`| three bare ffmpeg commands one after another | ${fmt(t.seq, 2)} | ${fmt(t.kiln / t.seq, 2)} |`);
console.log(`| Kiln, three jobs fired in parallel | ${fmt(t.kiln, 2)} | 1.00 |`);
