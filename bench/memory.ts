/**
 * Memory benchmark (issues #3 and #5): a ≥ 1 GB upload goes through POST /uploads (presigned PUT
 * straight to storage) and is processed, while the processor's peak RSS (VmHWM) is read from
 * /proc. Goal: the processor stays under 300 MB; nothing holds the file in memory.
 */
import { execFile } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { httpRequest } from '../container/net/http-request.ts';
import { startStack } from '../test/e2e/support/stack.ts';
import { fmt } from './stats.ts';

const run = promisify(execFile);
const WORK = resolve(import.meta.dirname, '.work');
const GOAL_MB = 300;

await mkdir(WORK, { recursive: true });
const big = join(WORK, 'big-1gb.mkv');
if (!existsSync(big)) {
  // Uncompressed 640×360 video: ~1.04 GB for 100 s, quick to write and cheap to decode.
  // biome-ignore format: ffmpeg arguments read as flag/value pairs
  await run('ffmpeg', [
    '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-t', '100',
    '-c:v', 'rawvideo', '-pix_fmt', 'yuv420p', big,
  ]);
}
const { size } = await stat(big);

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

const stack = await startStack();
const started = performance.now();
const upload = await stack.api<{ file: { id: string }; upload_url: string }>('/uploads', {
  method: 'POST',
  json: { filename: 'big.mkv', content_type: 'video/x-matroska', size },
});
const put = await httpRequest(new URL(upload.body.upload_url), {
  method: 'PUT',
  headers: { 'content-length': size, 'content-type': 'video/x-matroska' },
  body: createReadStream(big),
});
put.resume();
if ((put.statusCode ?? 0) >= 300) throw new Error(`upload failed: ${put.statusCode}`);
const uploaded = performance.now();
const job = await stack.api<{ id: string }>('/jobs', {
  method: 'POST',
  json: { input: upload.body.file.id, kind: 'video', options: { width: 320, quality: 'very_low' } },
});
const done = await stack.waitForJob(job.body.id, 60 * 60_000);
const finished = performance.now();
const processorPeak = await peakRssMb(stack.processor.child.pid!);
const benchPeak = await peakRssMb(process.pid);
await stack.close();

console.log(`\n## A ${fmt(size / 1024 ** 3, 2)} GiB input through direct upload and the processor\n`);
console.log('| measure | value |');
console.log('|---|---:|');
console.log(`| job status | ${done.status}${done.error ? ` (${done.error.kind})` : ''} |`);
console.log(`| upload (presigned PUT to local R2) | ${fmt((uploaded - started) / 1000, 1)} s |`);
console.log(`| job (download + probe + encode + upload) | ${fmt((finished - uploaded) / 1000, 1)} s |`);
console.log(`| processor peak RSS (VmHWM) | ${fmt(processorPeak, 0)} MB (goal ≤ ${GOAL_MB}) |`);
console.log(`| uploading client peak RSS | ${fmt(benchPeak, 0)} MB |`);
if (done.status !== 'succeeded' || processorPeak > GOAL_MB) process.exitCode = 1;
