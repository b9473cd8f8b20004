/**
 * Media engine benchmark: Kiln's engine against bare ffmpeg/sharp with the same settings, each
 * video quality tier against HandBrake's "Fast 1080p30" preset (size, time, SSIM against the
 * source), and a 4000×3000 → 1920 WebP resize against ImageMagick and vipsthumbnail.
 *
 *   node bench/engine.ts [--runs 3] [--seconds 5]
 *
 * Prints markdown tables (medians over runs) to stdout; scratch files go to bench/.work/.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import sharp from 'sharp';
import { AUDIO_BITRATES } from '../container/audio/quality.ts';
import { IMAGE_QUALITY_TIERS } from '../container/image/quality.ts';
import { DEFAULT_LIMITS } from '../container/limits.ts';
import { processMedia } from '../container/process/index.ts';
import { VIDEO_QUALITY_TIERS } from '../container/video/quality.ts';
import type { JobKind, Quality } from '../schemas/options.ts';

const run = promisify(execFile);
const WORK = resolve(import.meta.dirname, '.work');

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, seconds: { type: 'string', default: '5' } } });
const RUNS = Number(values.runs);
const SECONDS = Number(values.seconds);

interface Sample {
  ms: number;
  bytes: number;
  ssim?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function timed(fn: () => Promise<unknown>, output: string): Promise<Sample> {
  await rm(output, { recursive: true, force: true });
  const t = performance.now();
  await fn();
  const ms = performance.now() - t;
  return { ms, bytes: (await stat(output)).size };
}

async function repeat(fn: () => Promise<unknown>, output: string): Promise<Sample> {
  const samples: Sample[] = [];
  for (let i = 0; i < RUNS; i++) samples.push(await timed(fn, output));
  return { ms: median(samples.map((s) => s.ms)), bytes: median(samples.map((s) => s.bytes)) };
}

async function ssim(distorted: string, reference: string): Promise<number> {
  const { stderr } = await run('ffmpeg', ['-hide_banner', '-i', distorted, '-i', reference, '-lavfi', '[0:v][1:v]ssim', '-f', 'null', '-']);
  const match = /All:([\d.]+)/.exec(stderr);
  return match ? Number(match[1]) : Number.NaN;
}

async function engine(kind: JobKind, input: string, options: Record<string, unknown>, out: string): Promise<void> {
  const workDir = join(WORK, `engine-${kind}`);
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  const result = await processMedia({ kind, options, inputPath: input, workDir, limits: DEFAULT_LIMITS });
  if (!result.ok) throw new Error(`${result.error.kind}: ${result.error.message}`);
  await run('cp', [result.output.path, out]);
}

async function sources(): Promise<{ video: string; photo: string }> {
  await mkdir(WORK, { recursive: true });
  const video = join(WORK, `source-1080p-${SECONDS}s.mov`);
  const photo = join(WORK, 'source-4000x3000.jpg');
  if (!existsSync(video)) {
    // A zooming Mandelbrot: fine detail and smooth gradients that change every frame, closer to
    // camera footage than flat test patterns. Near-lossless so the source adds little error.
    // biome-ignore format: ffmpeg arguments read as flag/value pairs
    await run('ffmpeg', [
      '-v', 'error', '-f', 'lavfi', '-i', `mandelbrot=size=1920x1080:rate=30,trim=duration=${SECONDS}`,
      '-f', 'lavfi', '-i', `sine=frequency=440:duration=${SECONDS}`,
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '10', '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', '-b:a', '192k', '-shortest', video,
    ]);
  }
  if (!existsSync(photo)) {
    // Photo-like detail: a test pattern with grain, written as a high-quality JPEG like a camera's.
    // biome-ignore format: ffmpeg arguments read as flag/value pairs
    await run('ffmpeg', [
      '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=4000x3000', '-vf', 'noise=alls=8', '-frames:v', '1', '-q:v', '2', photo,
    ]);
  }
  return { video, photo };
}

function row(cells: (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

async function videoBench(video: string): Promise<string[]> {
  const lines = ['### Video: 1080p30 source, H.264 MP4', ''];
  // 1. Engine overhead: same encoder settings as --quality high, without Kiln's probe and filters.
  const high = VIDEO_QUALITY_TIERS.high;
  const eng = await repeat(() => engine('video', video, { quality: 'high' }, join(WORK, 'engine-high.mp4')), join(WORK, 'engine-high.mp4'));
  // biome-ignore format: ffmpeg arguments read as flag/value pairs
  const bare = await repeat(
    () =>
      run('ffmpeg', [
        '-v', 'error', '-y', '-i', video, '-c:v', 'libx264', '-preset', high.h264.preset, '-crf', String(high.h264.crf),
        '-profile:v', 'high', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', String(AUDIO_BITRATES.high), '-ac', '2', '-ar', '48000',
        '-movflags', '+faststart', join(WORK, 'bare-high.mp4'),
      ]),
    join(WORK, 'bare-high.mp4'),
  );
  lines.push('Engine vs bare ffmpeg (same x264 preset/CRF/audio):', '');
  lines.push(row(['run', 'median time (s)', 'size (KB)', 'time ratio']), row(['---', '---', '---', '---']));
  lines.push(row(['bare ffmpeg', (bare.ms / 1000).toFixed(2), (bare.bytes / 1024).toFixed(0), '1.00']));
  lines.push(row(['kiln engine', (eng.ms / 1000).toFixed(2), (eng.bytes / 1024).toFixed(0), (eng.ms / bare.ms).toFixed(2)]), '');

  // 2. Quality tiers vs HandBrake "Fast 1080p30".
  const hbOut = join(WORK, 'handbrake.mp4');
  const hb = await repeat(
    () => run('HandBrakeCLI', ['-i', video, '-o', hbOut, '--preset', 'Fast 1080p30'], { maxBuffer: 64 * 1024 * 1024 }),
    hbOut,
  );
  hb.ssim = await ssim(hbOut, video);
  lines.push('Quality tiers vs HandBrakeCLI `--preset "Fast 1080p30"` (SSIM against the source):', '');
  lines.push(row(['encoder', 'median time (s)', 'size (KB)', 'SSIM', 'size vs HandBrake']), row(['---', '---', '---', '---', '---']));
  lines.push(row(['HandBrake Fast 1080p30', (hb.ms / 1000).toFixed(2), (hb.bytes / 1024).toFixed(0), hb.ssim.toFixed(4), '1.00']));
  for (const tier of Object.keys(VIDEO_QUALITY_TIERS) as Quality[]) {
    const out = join(WORK, `tier-${tier}.mp4`);
    const sample = await repeat(() => engine('video', video, { quality: tier }, out), out);
    sample.ssim = await ssim(out, video);
    lines.push(
      row([
        `kiln --quality ${tier}`,
        (sample.ms / 1000).toFixed(2),
        (sample.bytes / 1024).toFixed(0),
        sample.ssim.toFixed(4),
        (sample.bytes / hb.bytes).toFixed(2),
      ]),
    );
  }
  return [...lines, ''];
}

async function imageBench(photo: string): Promise<string[]> {
  const q = IMAGE_QUALITY_TIERS.medium.webp;
  const lines = [`### Image: 4000×3000 JPEG → 1920 px wide WebP (quality ${q})`, ''];
  const cases: [string, string, () => Promise<unknown>][] = [
    [
      'kiln engine',
      join(WORK, 'img-engine.webp'),
      () => engine('image', photo, { width: 1920, format: 'webp' }, join(WORK, 'img-engine.webp')),
    ],
    [
      'bare sharp',
      join(WORK, 'img-sharp.webp'),
      () => sharp(photo).rotate().resize(1920).webp({ quality: q, effort: 4 }).toFile(join(WORK, 'img-sharp.webp')),
    ],
    [
      'vipsthumbnail',
      join(WORK, 'img-vips.webp'),
      () => run('vipsthumbnail', [photo, '-s', '1920x', '-o', `${join(WORK, 'img-vips.webp')}[Q=${q},strip]`]),
    ],
    [
      'ImageMagick 6 convert',
      join(WORK, 'img-im.webp'),
      () => run('convert-im6.q16', [photo, '-resize', '1920x', '-strip', '-quality', String(q), join(WORK, 'img-im.webp')]),
    ],
  ];
  const results: [string, Sample][] = [];
  for (const [name, out, fn] of cases) results.push([name, await repeat(fn, out)]);
  const base = results[0]![1];
  lines.push(row(['tool', 'median time (ms)', 'size (KB)', 'time vs kiln']), row(['---', '---', '---', '---']));
  for (const [name, s] of results) lines.push(row([name, s.ms.toFixed(0), (s.bytes / 1024).toFixed(0), (s.ms / base.ms).toFixed(2)]));
  return [...lines, ''];
}

const { video, photo } = await sources();
const report = [
  `## Engine benchmark (${RUNS} runs, medians; ${SECONDS} s clip; ${new Date().toISOString().slice(0, 10)})`,
  '',
  ...(await imageBench(photo)),
  ...(await videoBench(video)),
];
process.stdout.write(`${report.join('\n')}\n`);
