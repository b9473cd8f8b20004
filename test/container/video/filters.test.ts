/**
 * Pictures that look right: non-square pixels, interlaced fields, full-range levels and 10-bit
 * sources, through every kind that draws frames. The sources are generated here (each under half
 * a second, at most 720x576) because no other test needs them.
 */
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_LIMITS } from '../../../container/limits.ts';
import { probeFile } from '../../../container/probe/index.ts';
import { DEINTERLACE_FILTER, videoFilters } from '../../../container/video/filters.ts';
import { cleanupWorkDirs, countFrames, expectOk, runJob, videoStream, workDir } from '../../support/inspect.ts';

const run = promisify(execFile);
const ff = (...args: string[]) => run('ffmpeg', ['-hide_banner', '-v', 'error', '-y', ...args]);

/** Black, mid grey and white bands of a 320x240 frame: the levels a range mistake moves. */
const BANDS = [
  { x: 50, rgb: 0 },
  { x: 160, rgb: 128 },
  { x: 270, rgb: 255 },
];
const BANDS_SOURCE =
  'color=black:s=108x240:d=0.4,format=rgb24[a];color=0x808080:s=106x240:d=0.4,format=rgb24[b];' +
  'color=white:s=106x240:d=0.4,format=rgb24[c];[a][b][c]hstack=3';
/** Codec noise on a flat patch after a lossy encode, in 8-bit RGB levels. */
const LEVEL_TOLERANCE = 6;

let dir = '';
const src = (name: string) => join(dir, name);

// biome-ignore format: ffmpeg arguments read as flag/value pairs
const SOURCES: Record<string, string[]> = {
  // 16:9 PAL DVD: 720x576 stored, 1024x576 shown.
  'pal.mp4': [
    '-f', 'lavfi', '-i', 'testsrc2=size=720x576:rate=25:duration=0.4', '-vf', 'setsar=64/45',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
  ],
  // 4:3 NTSC DV: 720x480 stored, 640x480 shown.
  'ntsc.mp4': [
    '-f', 'lavfi', '-i', 'testsrc2=size=720x480:rate=30000/1001:duration=0.4', '-vf', 'setsar=8/9',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
  ],
  // 50 moving pictures a second woven into 25 interlaced frames, top field first: every frame combs.
  'interlaced.mp4': [
    '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=50:duration=0.4', '-vf', 'tinterlace=interleave_top,setfield=tff',
    '-flags', '+ildct+ilme', '-c:v', 'libx264', '-preset', 'ultrafast', '-x264opts', 'tff=1', '-pix_fmt', 'yuv420p',
  ],
  // A phone's full-range H.264 (decoded as yuvj420p), tagged BT.709 so no scaler is needed at the same size.
  'full.mp4': [
    '-f', 'lavfi', '-i', BANDS_SOURCE, '-vf', 'scale=out_color_matrix=bt709:out_range=pc,format=yuv420p',
    '-color_range', 'pc', '-colorspace', 'bt709', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0',
  ],
  // Full range and 10 bits: no yuvj format exists for it, so only the frame's range tag says so.
  'full10.mp4': [
    '-f', 'lavfi', '-i', BANDS_SOURCE, '-vf', 'scale=out_color_matrix=bt709:out_range=pc,format=yuv420p10le',
    '-color_range', 'pc', '-colorspace', 'bt709', '-c:v', 'libx265', '-preset', 'ultrafast',
    '-x265-params', 'log-level=error:lossless=1', '-tag:v', 'hvc1',
  ],
  // A 10-bit ramp four 8-bit levels wide across 320 pixels: truncated, it is four 80-pixel bands.
  'ramp10.mp4': [
    '-f', 'lavfi', '-i', "nullsrc=s=320x240:d=0.4:r=25,format=yuv420p10le,geq=lum='400+16*X/W':cb=512:cr=512",
    '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p10le',
  ],
};

beforeAll(async () => {
  dir = await workDir();
  const names = Object.keys(SOURCES);
  // Two encoders at a time: the test machines have two cores.
  for (let i = 0; i < names.length; i += 2) {
    await Promise.all(names.slice(i, i + 2).map((name) => ff(...(SOURCES[name] ?? []), src(name))));
  }
  // A phone-style display matrix on the anamorphic PAL clip: shown 576x1024.
  await ff('-i', src('pal.mp4'), '-c', 'copy', '-metadata:s:v:0', 'rotate=90', '-f', 'mov', src('pal-rotated.mov'));
}, 60_000);
afterAll(cleanupWorkDirs);

/** One decoded frame as 8-bit grey (or RGB) pixels, at the size it is stored. */
async function decodeFrame(
  path: string,
  { at = 0, pixFmt = 'gray' }: { at?: number; pixFmt?: 'gray' | 'rgb24' } = {},
): Promise<{ data: Buffer; width: number; height: number }> {
  const v = await videoStream(path);
  const width = v.width ?? 0;
  const height = v.height ?? 0;
  // biome-ignore format: ffmpeg arguments read as flag/value pairs
  const { stdout } = await promisify(execFile)(
    'ffmpeg',
    ['-v', 'error', '-ss', String(at), '-i', path, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', pixFmt, '-'],
    { encoding: 'buffer', maxBuffer: 64 * 1024 ** 2 },
  );
  return { data: stdout, width, height };
}

/**
 * Combing: how much each line stands out from both its neighbours in the same direction, the
 * saw-tooth two interleaved fields of a moving picture draw. A deinterlaced or progressive frame
 * scores a small fraction of an interlaced one.
 */
function combing({ data, width, height }: { data: Buffer; width: number; height: number }): number {
  let sum = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 0; x < width; x++) {
      const line = data[y * width + x] ?? 0;
      const d = (line - (data[(y - 1) * width + x] ?? 0)) * (line - (data[(y + 1) * width + x] ?? 0));
      if (d > 0) sum += d;
    }
  }
  return sum / (width * height);
}

/** The RGB of the middle row at each band's centre. */
async function bandLevels(path: string): Promise<number[][]> {
  const frame = await decodeFrame(path, { pixFmt: 'rgb24' });
  const row = Math.floor(frame.height / 2);
  return BANDS.map(({ x }) => [...frame.data.subarray((row * frame.width + x) * 3, (row * frame.width + x) * 3 + 3)]);
}

/**
 * The widest stretch of columns whose mean grey level stays the same (within 1/20 of a level): a
 * truncated ramp is a staircase of wide steps, a dithered one rises column by column.
 */
function widestFlatStep({ data, width, height }: { data: Buffer; width: number; height: number }): number {
  const means = Array.from({ length: width }, (_, x) => {
    let sum = 0;
    for (let y = 0; y < height; y++) sum += data[y * width + x] ?? 0;
    return sum / height;
  });
  let widest = 1;
  let run = 1;
  for (let x = 1; x < width; x++) {
    run = Math.abs((means[x] ?? 0) - (means[x - 1] ?? 0)) < 0.05 ? run + 1 : 1;
    widest = Math.max(widest, run);
  }
  return widest;
}

/** Width, height and sample aspect ratio of each rendition's first segment, by name. */
async function renditions(master: string): Promise<Record<string, string>> {
  const root = dirname(master);
  const names = (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  const sizes: Record<string, string> = {};
  for (const name of names) {
    const segment = (await readdir(join(root, name))).filter((f) => f.endsWith('.ts')).sort()[0] ?? '';
    const v = await videoStream(join(root, name, segment));
    sizes[name] = `${v.width}x${v.height} ${v.sample_aspect_ratio ?? '1:1'}`;
  }
  return sizes;
}

/** The first rendition's first segment. */
async function firstSegment(master: string): Promise<string> {
  const root = dirname(master);
  const name = (await readdir(root, { withFileTypes: true })).find((d) => d.isDirectory())?.name ?? '';
  const segment = (await readdir(join(root, name))).filter((f) => f.endsWith('.ts')).sort()[0] ?? '';
  return join(root, name, segment);
}

async function squareVideo(path: string): Promise<string> {
  const v = await videoStream(path);
  return `${v.width}x${v.height} ${v.sample_aspect_ratio ?? '1:1'}`;
}

async function imageSize(path: string): Promise<string> {
  const meta = await sharp(path, { animated: true }).metadata();
  return `${meta.width}x${meta.pageHeight ?? meta.height}`;
}

describe('non-square pixels', () => {
  test('video comes out with square pixels at the display size; never upscale compares against that size', async () => {
    const whole = expectOk(await runJob('video', src('pal.mp4'), {}));
    expect(await squareVideo(whole.output.path)).toBe('1024x576 1:1');
    const asked = expectOk(await runJob('video', src('pal.mp4'), { width: 1024 }));
    expect(await squareVideo(asked.output.path)).toBe('1024x576 1:1');
    const tooWide = expectOk(await runJob('video', src('pal.mp4'), { width: 2000 }));
    expect(await squareVideo(tooWide.output.path)).toBe('1024x576 1:1');
    expect(tooWide.notes.join(' ')).toMatch(/The source is 1024×576; it was not upscaled/);
    const ntsc = expectOk(await runJob('video', src('ntsc.mp4'), { width: 320 }));
    expect(await squareVideo(ntsc.output.path)).toBe('320x240 1:1');
  });

  test('a rotated anamorphic video turns its display size, not its stored size', async () => {
    const result = expectOk(await runJob('video', src('pal-rotated.mov'), { height: 512 }));
    expect(await squareVideo(result.output.path)).toBe('288x512 1:1');
  });

  test('the pixel limit bounds the shown frame: wide pixels cannot make a frame larger than the limit', async () => {
    const stored = 720 * 576;
    const shown = 1024 * 576;
    const within = await probeFile(src('pal.mp4'), { ...DEFAULT_LIMITS, maxVideoPixels: shown });
    expect(within.ok).toBe(true);
    const over = await probeFile(src('pal.mp4'), { ...DEFAULT_LIMITS, maxVideoPixels: (stored + shown) / 2 });
    expect(over).toMatchObject({ ok: false, error: { kind: 'too_many_pixels' } });
    expect(!over.ok && over.error.message).toMatch(/720×576 stored with a sample aspect ratio of 64:45, shown at 1024×576/);
  });

  test('a thumbnail shows the display aspect', async () => {
    const whole = expectOk(await runJob('image', src('pal.mp4'), { format: 'png' }));
    expect(await imageSize(whole.output.path)).toBe('1024x576');
    const ntsc = expectOk(await runJob('image', src('ntsc.mp4'), { width: 2000, format: 'png' }));
    expect(await imageSize(ntsc.output.path)).toBe('640x480');
    const rotated = expectOk(await runJob('image', src('pal-rotated.mov'), { width: 288, format: 'png' }));
    expect(await imageSize(rotated.output.path)).toBe('288x512');
  });

  test('an animation shows the display aspect', async () => {
    const gif = expectOk(await runJob('animation', src('pal.mp4'), {}));
    expect(await imageSize(gif.output.path)).toBe('480x270');
    const webp = expectOk(await runJob('animation', src('ntsc.mp4'), { height: 120, format: 'webp' }));
    expect(await imageSize(webp.output.path)).toBe('160x120');
  });

  test('every HLS rendition has square pixels at the display aspect', async () => {
    const result = expectOk(await runJob('adaptive_video', src('pal.mp4'), {}));
    expect(await renditions(result.output.path)).toEqual({ '480p': '852x480 1:1', '360p': '640x360 1:1' });
  });

  test('probing reads the sample aspect ratio and leaves square pixels alone', async () => {
    const pal = await probeFile(src('pal.mp4'), DEFAULT_LIMITS);
    expect(pal.ok && pal.details.video?.sar).toBeCloseTo(64 / 45, 6);
    const square = await probeFile(src('interlaced.mp4'), DEFAULT_LIMITS);
    expect(square.ok && square.details.video?.sar).toBe(1);
  });
});

describe('interlaced sources', () => {
  test('probing tells interlaced from progressive', async () => {
    const interlaced = await probeFile(src('interlaced.mp4'), DEFAULT_LIMITS);
    const progressive = await probeFile(src('pal.mp4'), DEFAULT_LIMITS);
    expect(interlaced.ok && interlaced.details.video?.interlaced).toBe(true);
    expect(progressive.ok && progressive.details.video?.interlaced).toBe(false);
  });

  test('video is deinterlaced at the source frame rate', async () => {
    const source = combing(await decodeFrame(src('interlaced.mp4'), { at: 0.2 }));
    const result = expectOk(await runJob('video', src('interlaced.mp4'), {}));
    expect(combing(await decodeFrame(result.output.path, { at: 0.2 }))).toBeLessThan(source / 4);
    expect(result.output.info.fps).toBe(25);
    expect(await countFrames(result.output.path)).toBe(10);
  });

  test('a thumbnail, an animation and an HLS rendition are deinterlaced', async () => {
    const source = combing(await decodeFrame(src('interlaced.mp4'), { at: 0.2 }));
    const thumbnail = expectOk(await runJob('image', src('interlaced.mp4'), { start: 0.2, format: 'png' }));
    const { data, info } = await sharp(thumbnail.output.path).greyscale().raw().toBuffer({ resolveWithObject: true });
    expect(combing({ data, width: info.width, height: info.height })).toBeLessThan(source / 4);
    const gif = expectOk(await runJob('animation', src('interlaced.mp4'), { start: 0.2, end: 0.4 }));
    expect(combing(await decodeFrame(gif.output.path))).toBeLessThan(source / 4);
    const hls = expectOk(await runJob('adaptive_video', src('interlaced.mp4'), {}));
    expect(combing(await decodeFrame(await firstSegment(hls.output.path), { at: 0.2 }))).toBeLessThan(source / 4);
  });

  test('a progressive source gets no deinterlacer', async () => {
    const probed = await probeFile(src('pal.mp4'), DEFAULT_LIMITS);
    if (!probed.ok) throw new Error(probed.error.message);
    const chain = videoFilters({ plan: { mode: 'scale', width: 1024, height: 576 }, details: probed.details, pixFmt: 'yuv420p' });
    expect(chain).not.toContain(DEINTERLACE_FILTER);
  });
});

describe('full-range sources', () => {
  test('video keeps black, grey and white where they were, 8-bit and 10-bit', async () => {
    for (const name of ['full.mp4', 'full10.mp4']) {
      const result = expectOk(await runJob('video', src(name), {}));
      expect(await videoStream(result.output.path)).toMatchObject({ pix_fmt: 'yuv420p', color_range: 'tv' });
      const levels = await bandLevels(result.output.path);
      levels.forEach((rgb, i) => {
        for (const channel of rgb)
          expect(Math.abs(channel - (BANDS[i]?.rgb ?? -1)), `${name} band ${i}`).toBeLessThanOrEqual(LEVEL_TOLERANCE);
      });
    }
  });

  test('a thumbnail keeps black, grey and white where they were', async () => {
    const result = expectOk(await runJob('image', src('full10.mp4'), { format: 'png' }));
    const { data } = await sharp(result.output.path).raw().toBuffer({ resolveWithObject: true });
    BANDS.forEach(({ x, rgb }) => {
      const at = (120 * 320 + x) * 3;
      for (const channel of data.subarray(at, at + 3)) expect(Math.abs(channel - rgb)).toBeLessThanOrEqual(LEVEL_TOLERANCE);
    });
  });
});

describe('10-bit sources', () => {
  test('the video chain dithers a 10-bit ramp to 8 bits instead of banding it', async () => {
    const probed = await probeFile(src('ramp10.mp4'), DEFAULT_LIMITS);
    if (!probed.ok) throw new Error(probed.error.message);
    const chain = videoFilters({ plan: { mode: 'scale', width: 320, height: 240 }, details: probed.details, pixFmt: 'yuv420p' });
    // Lossless, so what is measured is the chain's own 8-bit frame, not what an encoder keeps of it.
    const out = join(dir, 'ramp8.mkv');
    // biome-ignore format: ffmpeg arguments read as flag/value pairs
    await ff('-i', src('ramp10.mp4'), '-vf', chain.join(','), '-c:v', 'libx264', '-qp', '0', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', out);
    expect((await videoStream(out)).pix_fmt).toBe('yuv420p');
    // Truncated, the ramp is four 80-column steps. Dithered, no step is wider than one 10-bit
    // level (20 columns), which stays flat only where it falls exactly on an 8-bit level.
    expect(widestFlatStep(await decodeFrame(out))).toBeLessThanOrEqual(20);
  });

  test('a thumbnail of a 10-bit ramp is dithered instead of banded', async () => {
    const result = expectOk(await runJob('image', src('ramp10.mp4'), { format: 'png' }));
    const { data, info } = await sharp(result.output.path).greyscale().raw().toBuffer({ resolveWithObject: true });
    expect(widestFlatStep({ data, width: info.width, height: info.height })).toBeLessThanOrEqual(20);
  });

  test('video and HLS from a 10-bit source are 8-bit yuv420p', async () => {
    const video = expectOk(await runJob('video', src('ramp10.mp4'), {}));
    expect((await videoStream(video.output.path)).pix_fmt).toBe('yuv420p');
    const hls = expectOk(await runJob('adaptive_video', src('ramp10.mp4'), {}));
    expect((await videoStream(await firstSegment(hls.output.path))).pix_fmt).toBe('yuv420p');
  });
});
