/**
 * CLI benchmark: whole processes, as a user runs them. `kiln --help` against a bare `node -e 0`;
 * one 4000×3000 JPEG → 1920 px WebP against vipsthumbnail with the same size and quality; eight
 * such photos as one `kiln` batch against a shell loop of vipsthumbnail.
 *
 *   node bench/cli.ts [--runs 5]
 *
 * Prints markdown tables (medians over runs) to stdout; scratch files go to bench/.work/cli/.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { IMAGE_QUALITY_TIERS } from '../container/image/quality.ts';
import { median } from './stats.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const WORK = join(ROOT, 'bench', '.work', 'cli');
const KILN = join(ROOT, 'bin', 'kiln.js');
const PHOTOS = 8;

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Number(values.runs);

/** Median wall time of `runs` runs of a command, after one unmeasured run (disk cache, Node's compile cache). */
async function timed(file: string, args: string[], runs = RUNS, before?: () => Promise<unknown>): Promise<number> {
  await before?.();
  await run(file, args, { cwd: WORK });
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    await before?.();
    const t = performance.now();
    await run(file, args, { cwd: WORK });
    samples.push(performance.now() - t);
  }
  return median(samples);
}

async function photos(): Promise<string[]> {
  await mkdir(WORK, { recursive: true });
  const paths = Array.from({ length: PHOTOS }, (_, i) => join(WORK, `photo-${i + 1}.jpg`));
  for (const [i, path] of paths.entries()) {
    if (existsSync(path)) continue;
    // Camera-like: a test pattern with its own grain per photo, saved as a high-quality JPEG.
    // biome-ignore format: ffmpeg arguments read as flag/value pairs
    await run('ffmpeg', [
      '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=4000x3000', '-vf', `noise=alls=8:all_seed=${i + 1}`,
      '-frames:v', '1', '-q:v', '2', path,
    ]);
  }
  return paths;
}

const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
const ms = (n: number) => `${n.toFixed(0)} ms`;

const inputs = await photos();
const q = IMAGE_QUALITY_TIERS.medium.webp;
const node = process.execPath;

const help = await timed(node, [KILN, '--help'], RUNS * 2);
const bareNode = await timed(node, ['-e', '0'], RUNS * 2);

const one = await timed(node, [KILN, 'image', '-i', inputs[0]!, '--width', '1920', '--format', 'webp', '-o', 'one-kiln.webp']);
const oneVips = await timed('vipsthumbnail', [inputs[0]!, '-s', '1920x', '-o', `${join(WORK, 'one-vips.webp')}[Q=${q},strip]`]);

const batchDir = join(WORK, 'batch-kiln');
const clear = () => rm(batchDir, { recursive: true, force: true });
const batch = await timed(node, [KILN, 'image', '-i', ...inputs, '-o', batchDir, '--width', '1920', '--format', 'webp'], RUNS, clear);
const loop = `mkdir -p batch-vips; for f in ${inputs.map((p) => `'${p}'`).join(' ')}; do vipsthumbnail "$f" -s 1920x -o "batch-vips/%s.webp[Q=${q},strip]"; done`;
const shellLoop = await timed('bash', ['-c', loop]);

const lines = [
  `## CLI benchmark (${RUNS} runs, medians of whole processes; ${new Date().toISOString().slice(0, 10)})`,
  '',
  row(['comparison', 'kiln', 'peer', 'ratio', 'goal']),
  row(['---', '---:', '---:', '---:', '---']),
  row(['`kiln --help` vs `node -e 0`', ms(help), ms(bareNode), `${(help / bareNode).toFixed(2)}×`, '≤ 100 ms']),
  row([`4000×3000 JPEG → 1920 WebP (q ${q}) vs vipsthumbnail`, ms(one), ms(oneVips), `${(one / oneVips).toFixed(2)}× time`, '≤ 1.0×']),
  row([
    `${PHOTOS} such photos, one batch vs a shell loop of vipsthumbnail`,
    ms(batch),
    ms(shellLoop),
    `${(batch / shellLoop).toFixed(2)}× time`,
    '≤ 0.8×',
  ]),
  '',
];
process.stdout.write(`${lines.join('\n')}\n`);
