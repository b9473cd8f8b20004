/**
 * Helpers that judge media by its properties (STYLE habit 12): ffprobe streams, MP4 atom order,
 * pixel colours, frame counts, similarity to a reference frame. Plus `runJob`, the one fixture
 * factory for processor runs.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { type FfprobeOutput, type FfprobeStream, ffprobeJson } from '../../container/ffmpeg/index.ts';
import { DEFAULT_LIMITS, type Limits } from '../../container/limits.ts';
import { type ProcessResult, processMedia } from '../../container/process/index.ts';
import type { JobKind } from '../../schemas/options.ts';

const run = promisify(execFile);

const workDirs: string[] = [];

/** A fresh temp directory, removed by `cleanupWorkDirs` (call it in afterAll). */
export async function workDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-test-'));
  workDirs.push(dir);
  return dir;
}

export async function cleanupWorkDirs(): Promise<void> {
  await Promise.all(workDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/**
 * Runs `processMedia` on a file with default limits (or overrides) in a fresh work dir.
 *
 * @example
 * const result = await runJob('video', fixture('clip.mp4'), { width: 320 });
 */
export async function runJob(
  kind: JobKind,
  inputPath: string,
  options: unknown,
  extra: { limits?: Partial<Limits>; signal?: AbortSignal; onProgress?: (stage: 'probe' | 'encode', p: number) => void } = {},
): Promise<ProcessResult> {
  return processMedia({
    kind,
    options,
    inputPath,
    workDir: await workDir(),
    limits: { ...DEFAULT_LIMITS, ...extra.limits },
    ...(extra.signal ? { signal: extra.signal } : {}),
    ...(extra.onProgress ? { onProgress: extra.onProgress } : {}),
  });
}

/** Narrows a result to success, failing the test with the error otherwise. */
export function expectOk(result: ProcessResult): Extract<ProcessResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected success, got ${result.stage} ${result.error.kind}: ${result.error.message}`);
  return result;
}

export async function probe(path: string, extraArgs: string[] = []): Promise<FfprobeOutput> {
  const result = await ffprobeJson(path, { extraArgs });
  if (!result.ok) throw new Error(`ffprobe failed on ${path}: ${result.error.stderrTail.join('\n')}`);
  return result.data;
}

export async function videoStream(
  path: string,
): Promise<FfprobeStream & { level?: number; sample_aspect_ratio?: string; color_range?: string }> {
  const data = await probe(path);
  const stream = data.streams?.find((s) => s.codec_type === 'video');
  if (!stream) throw new Error(`no video stream in ${path}`);
  return stream;
}

export async function audioStream(path: string): Promise<FfprobeStream | undefined> {
  const data = await probe(path);
  return data.streams?.find((s) => s.codec_type === 'audio');
}

/** Number of decoded video frames (ffprobe -count_frames). */
export async function countFrames(path: string): Promise<number> {
  // biome-ignore format: ffprobe arguments read as flag/value pairs
  const { stdout } = await run('ffprobe', [
    '-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', path,
  ]);
  return Number(stdout.trim());
}

/** Names of the top-level boxes of an MP4/MOV/M4A, in file order. */
export async function topLevelAtoms(path: string): Promise<string[]> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const names: string[] = [];
    const header = Buffer.alloc(16);
    for (let offset = 0; offset < size; ) {
      await handle.read(header, 0, 16, offset);
      let boxSize = header.readUInt32BE(0);
      if (boxSize === 1) boxSize = Number(header.readBigUInt64BE(8));
      names.push(header.subarray(4, 8).toString('latin1'));
      if (boxSize < 8) break;
      offset += boxSize;
    }
    return names;
  } finally {
    await handle.close();
  }
}

/** Pids of this process's children running `command` (e.g. the ffmpeg an encode spawned). */
export async function childPids(command: string): Promise<number[]> {
  const { stdout } = await run('ps', ['-A', '-o', 'pid=,ppid=,comm=']);
  return (
    stdout
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      // macOS prints the full path in `comm`, Linux the bare name.
      .filter(([, ppid, comm]) => Number(ppid) === process.pid && comm?.split('/').at(-1) === command)
      .map(([pid]) => Number(pid))
  );
}

/** True while a process with this pid exists; signal 0 checks without sending anything. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** RGB(A) of one pixel of an image file, EXIF orientation NOT applied (the output should have none). */
export async function pixelAt(path: string, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [...data.subarray(i, i + info.channels)];
}

/** True when every channel is within `tolerance` of the expected RGB. */
export function near(actual: number[], expected: number[], tolerance = 40): boolean {
  return expected.every((v, i) => Math.abs((actual[i] ?? -999) - v) <= tolerance);
}

/**
 * The frame of `video` shown at `seconds`, decoded by plain ffmpeg (seeking before the input is
 * frame-accurate when decoding) into a PNG: the reference a thumbnail is compared with.
 */
export async function frameAt(video: string, seconds: number): Promise<string> {
  const out = join(await workDir(), `frame-${seconds}.png`);
  await run('ffmpeg', ['-v', 'error', '-ss', String(seconds), '-i', video, '-frames:v', '1', '-f', 'image2', '-c:v', 'png', out]);
  return out;
}

/** The grid both images are reduced to before comparing: it averages away codec noise and scaler differences. */
const COMPARE_GRID = { width: 64, height: 36 };
/** The share of grid cells whose difference `imageDifference` reports: what moves in a test pattern covers more. */
const CHANGED_SHARE = 0.01;

/**
 * How far apart two pictures are, 0 (same) to 255: both are reduced to the same small grid, and
 * the result is the mean RGB difference that the most changed 1% of cells reach. A frame of
 * another moment differs strongly where the picture moved, however small that part is; a
 * re-encode of the same frame differs a little everywhere. Compare it with `SAME_FRAME_MAX_DIFFERENCE`.
 *
 * @example
 * expect(await imageDifference(thumbnail, await frameAt(input, 1))).toBeLessThan(SAME_FRAME_MAX_DIFFERENCE);
 */
export async function imageDifference(a: string, b: string): Promise<number> {
  const pixels = (path: string) =>
    sharp(path)
      .removeAlpha()
      .resize({ ...COMPARE_GRID, fit: 'fill' })
      .raw()
      .toBuffer();
  const [x, y] = await Promise.all([pixels(a), pixels(b)]);
  const cells: number[] = [];
  for (let i = 0; i < x.length; i += 3) {
    cells.push((Math.abs(x[i]! - y[i]!) + Math.abs(x[i + 1]! - y[i + 1]!) + Math.abs(x[i + 2]! - y[i + 2]!)) / 3);
  }
  cells.sort((p, q) => q - p);
  return cells[Math.floor(cells.length * CHANGED_SHARE)]!;
}

/**
 * Above this `imageDifference` two pictures are different frames. On the testsrc2 fixtures a frame
 * re-encoded as WebP or JPEG scores under 20, any other frame (the next one included) 70 or more.
 */
export const SAME_FRAME_MAX_DIFFERENCE = 40;
