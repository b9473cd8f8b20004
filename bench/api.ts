import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isTerminal, type Job } from '../schemas/job.ts';
import { startStack } from '../test/e2e/support/stack.ts';
import { MEDIA_DIR } from '../test/support/media.ts';
import { fmt, percentile } from './stats.ts';

/**
 * Job service benchmark (issue #4): POST /jobs latency and throughput at 1, 10 and 50 concurrent
 * clients against the local stack (wrangler's runtime + a real processor), then 1,000 small image
 * jobs submitted at once and followed until every one is terminal.
 */
const LEVELS = [
  { clients: 1, requests: 200 },
  { clients: 10, requests: 1000 },
  { clients: 50, requests: 2000 },
];
const FLOOD_JOBS = 1000;
/** Generous: 1,000 encodes on 2 cores. The run fails loudly if any job is still open after it. */
const FLOOD_TIMEOUT_MS = 20 * 60_000;

const tiny = join(MEDIA_DIR, 'bench-tiny.png');
if (!existsSync(tiny)) {
  mkdirSync(MEDIA_DIR, { recursive: true });
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=64x48', '-frames:v', '1', tiny]);
}

const stack = await startStack({ processorEnv: { KILN_CONCURRENCY: '2', KILN_BACKLOG: '64' } });
const job = { input: stack.mediaUrl('bench-tiny.png'), kind: 'image', options: { width: 32, format: 'webp' } };

async function submit(): Promise<{ ms: number; id: string }> {
  const started = performance.now();
  const res = await stack.api<{ id: string }>('/jobs', { method: 'POST', json: job });
  if (res.status !== 201) throw new Error(`POST /jobs answered ${res.status}`);
  return { ms: performance.now() - started, id: res.body.id };
}

async function run(clients: number, requests: number) {
  const latencies: number[] = [];
  const ids: string[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < requests) {
        next++;
        const r = await submit();
        latencies.push(r.ms);
        ids.push(r.id);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { clients, requests, p50: percentile(latencies, 50), p99: percentile(latencies, 99), rps: requests / seconds, ids };
}

const rows = [];
for (const level of LEVELS) rows.push(await run(level.clients, level.requests));
console.log('\n## POST /jobs latency (local stack)\n');
console.log('| clients | requests | p50 ms | p99 ms | jobs/s |');
console.log('|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.clients} | ${r.requests} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.rps, 0)} |`);

// Let the latency runs' jobs drain before the flood, so it measures itself.
async function waitTerminal(ids: string[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  const open = new Set(ids);
  const statuses: Record<string, number> = {};
  while (open.size > 0 && Date.now() < deadline) {
    for (const id of [...open].slice(0, 200)) {
      const { body } = await stack.api<Job>(`/jobs/${id}`);
      if (isTerminal(body.status)) {
        open.delete(id);
        statuses[body.status] = (statuses[body.status] ?? 0) + 1;
      }
    }
    if (open.size) await new Promise((r) => setTimeout(r, 500));
  }
  return { statuses, open: open.size };
}
await waitTerminal(
  rows.flatMap((r) => r.ids),
  FLOOD_TIMEOUT_MS,
);

const floodStart = performance.now();
const flood = await Promise.all(Array.from({ length: FLOOD_JOBS }, () => submit()));
const accepted = performance.now() - floodStart;
const outcome = await waitTerminal(
  flood.map((f) => f.id),
  FLOOD_TIMEOUT_MS,
);
const total = (performance.now() - floodStart) / 1000;
console.log(`\n## ${FLOOD_JOBS} small image jobs at once\n`);
console.log(`accepted in ${fmt(accepted / 1000, 2)} s; all terminal after ${fmt(total, 1)} s`);
console.log(`statuses: ${JSON.stringify(outcome.statuses)}; still open: ${outcome.open}`);
await stack.close();
if (outcome.open > 0 || (outcome.statuses.succeeded ?? 0) !== FLOOD_JOBS) process.exitCode = 1;
