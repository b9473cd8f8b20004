/**
 * One-pass group runs (container/run/group.ts) against what they replace, at the engine level (no
 * Worker: a local HTTP server plays storage and the callbacks):
 *  (a) the seed's three outputs of one 1080p clip (HD, WebP thumbnail at 2 s, 480 px preview) as
 *      one group run, against the three bare ffmpeg commands with the same settings in parallel and
 *      against three separate runs (`runTask`) in parallel, as the processor's slots run them;
 *  (b) a 4000×3000 photo to a 1920 and a 320 WebP, one group run against two separate runs.
 *
 *   node bench/group.ts [--runs 1] [--seconds 16]
 *
 * Prints markdown tables (medians over runs) to stdout; scratch files go to bench/.work/.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { DEFAULT_LIMITS } from '../container/limits.ts';
import { runGroup } from '../container/run/group.ts';
import { runTask } from '../container/run/index.ts';
import type { ProcessorEvent, ProcessorTask } from '../schemas/processor.ts';
import { seedBareCommands } from './seed-commands.ts';
import { fmt, median } from './stats.ts';

const run = promisify(execFile);
const WORK = resolve(import.meta.dirname, '.work');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '1' }, seconds: { type: 'string', default: '16' } } });
const RUNS = Number(values.runs);
const SECONDS = Number(values.seconds);
/** Photo pairs take about a second: a few more of them per video round steady the median. */
const PHOTO_RUNS = 3;

await mkdir(WORK, { recursive: true });
const clip = join(WORK, `group-1080p-${SECONDS}s.mov`);
const photo = join(WORK, 'source-4000x3000.jpg');
if (!existsSync(clip)) {
  // A moving test pattern with fixed grain and a tone, near-lossless like a camera's file. Grain that
  // changes every frame made a 440 MB source whose 1080p encode took minutes: no phone clip is that noisy.
  // biome-ignore format: ffmpeg arguments read as flag/value pairs
  await run('ffmpeg', [
    '-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=30,noise=alls=4,trim=duration=${SECONDS}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:duration=${SECONDS}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '192k', '-shortest', clip,
  ]);
}
if (!existsSync(photo)) {
  // biome-ignore format: ffmpeg arguments read as flag/value pairs
  await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=4000x3000', '-vf', 'noise=alls=8', '-frames:v', '1', '-q:v', '2', photo]);
}

const bare = seedBareCommands(clip);

/** Storage and the Worker's callbacks: serves the sources, takes and drops the outputs, records the last event per job. */
const last = new Map<string, ProcessorEvent>();
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', async () => {
    const path = req.url ?? '/';
    if (path.startsWith('/callback/')) last.set(path.slice('/callback/'.length), JSON.parse(Buffer.concat(chunks).toString()));
    if (req.method === 'GET' && path.startsWith('/in/')) {
      const body = await readFile(join(WORK, basename(path)));
      return void res.writeHead(200, { 'content-length': body.length }).end(body);
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

let ids = 0;
function task(source: string, kind: ProcessorTask['kind'], options: Record<string, unknown>): ProcessorTask {
  const id = `job_${String(++ids).padStart(26, '0')}`;
  return {
    job_id: id,
    attempt: 1,
    kind,
    options,
    input_url: `${base}/in/${basename(source)}`,
    output: { type: 'file', url: `${base}/out/${id}` },
    callback: { url: `${base}/callback/${id}`, token: 't'.repeat(32) },
  };
}

const tmpRoot = await mkdtemp(join(WORK, 'group-runs-'));
const ctx = { limits: DEFAULT_LIMITS, allowLoopback: true, tmpRoot };
function check(tasks: ProcessorTask[]): void {
  for (const t of tasks) {
    const event = last.get(t.job_id);
    if (event?.type !== 'succeeded') throw new Error(`${t.kind} ${JSON.stringify(t.options)} did not succeed: ${JSON.stringify(event)}`);
  }
}
async function grouped(tasks: ProcessorTask[]): Promise<void> {
  await runGroup({ tasks }, ctx);
  check(tasks);
}
async function separate(tasks: ProcessorTask[]): Promise<void> {
  await Promise.all(tasks.map((t) => runTask(t, ctx)));
  check(tasks);
}
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

const seed = () => [
  task(clip, 'video', { width: 1920, format: 'mp4', quality: 'high' }),
  task(clip, 'image', { start: 2, width: 640, format: 'webp' }),
  task(clip, 'video', { width: 480, quality: 'low', format: 'mp4' }),
];
const pair = () => [task(photo, 'image', { width: 1920, format: 'webp' }), task(photo, 'image', { width: 320, format: 'webp' })];

const t = { group: [] as number[], bare: [] as number[], separate: [] as number[] };
const p = { group: [] as number[], separate: [] as number[], sequential: [] as number[] };
for (let i = 0; i < RUNS; i++) {
  t.bare.push(
    await timed(() =>
      Promise.all([
        run('ffmpeg', bare.hd(join(WORK, 'g3-hd.mp4'))),
        run('ffmpeg', bare.thumb(join(WORK, 'g3-thumb.webp'))),
        run('ffmpeg', bare.preview(join(WORK, 'g3-preview.mp4'))),
      ]),
    ),
  );
  t.group.push(await timed(() => grouped(seed())));
  t.separate.push(await timed(() => separate(seed())));
  for (let j = 0; j < PHOTO_RUNS; j++) {
    p.group.push(await timed(() => grouped(pair())));
    p.separate.push(await timed(() => separate(pair())));
    p.sequential.push(
      await timed(async () => {
        for (const one of pair()) await separate([one]);
      }),
    );
  }
}
server.close();
await rm(tmpRoot, { recursive: true, force: true });

const m = { group: median(t.group), bare: median(t.bare), separate: median(t.separate) };
const q = { group: median(p.group), separate: median(p.separate), sequential: median(p.sequential) };
console.log(`\n## One-pass group runs (engine level, median of ${RUNS} / ${RUNS * PHOTO_RUNS})\n`);
console.log('| case | group run | compared with | ratio | goal |');
console.log('|---|---:|---|---:|---|');
console.log(
  `| ${SECONDS} s 1080p: HD + WebP thumbnail + 480 px preview | ${fmt(m.group, 2)} s | three bare ffmpeg commands in parallel, ${fmt(m.bare, 2)} s | **${fmt(m.group / m.bare, 2)}×** | ≤ 0.85× |`,
);
console.log(
  `| same | ${fmt(m.group, 2)} s | three separate runs in parallel, ${fmt(m.separate, 2)} s | **${fmt(m.group / m.separate, 2)}×** | ≤ 0.75× |`,
);
console.log(
  `| 4000×3000 JPEG → 1920 + 320 WebP | ${fmt(q.group * 1000, 0)} ms | two separate runs in parallel, ${fmt(q.separate * 1000, 0)} ms | **${fmt(q.group / q.separate, 2)}×** | ≤ 0.7× |`,
);
console.log(
  `| same | ${fmt(q.group * 1000, 0)} ms | two separate runs one after another, ${fmt(q.sequential * 1000, 0)} ms | ${fmt(q.group / q.sequential, 2)}× | — |`,
);
