import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cleanupWorkDirs, expectOk, runJob, workDir } from '../../support/inspect.ts';
import { fixture } from '../../support/media.ts';
import { watchFfmpegPeakRss } from '../../support/peak-rss.ts';

const run = promisify(execFile);

/** The ceiling for one animation request, whatever its length. */
const MAX_ANIMATION_RSS_BYTES = 300 * 1024 * 1024;

afterAll(cleanupWorkDirs);

/** A minute of 480×270 video that decodes and encodes cheaply (flat grey, one moving square). */
let minute: string;
/** A second of 60 fps video whose every frame differs (libwebp merges repeated frames). */
let fast: string;
beforeAll(async () => {
  fast = join(await workDir(), 'fast.mp4');
  // biome-ignore format: ffmpeg arguments read as flag/value pairs
  await run('ffmpeg', [
    '-hide_banner', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=320x180:r=60:d=1',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', fast,
  ]);
  minute = join(await workDir(), 'minute.mp4');
  // biome-ignore format: ffmpeg arguments read as flag/value pairs
  await run('ffmpeg', [
    '-hide_banner', '-v', 'error', '-y', '-f', 'lavfi',
    '-i', "color=c=gray:s=480x270:r=30:d=60,drawbox=x='mod(t*100,440)':y=100:w=40:h=40:c=red:t=fill",
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '300', '-pix_fmt', 'yuv420p', minute,
  ]);
});

describe('animation', () => {
  test('makes a looping gif at 10 fps by default with about fps × duration frames', async () => {
    const result = expectOk(await runJob('animation', fixture('clip.mp4'), { start: 0.5, end: 1.5, width: 160 }));
    const meta = await sharp(result.output.path, { animated: true }).metadata();
    expect(meta.format).toBe('gif');
    expect(meta.loop).toBe(0);
    expect(Math.abs((meta.pages ?? 0) - 10)).toBeLessThanOrEqual(1);
    expect([result.output.info.width, result.output.info.height]).toEqual([160, 90]);
  });

  test('caps the width at 480 when no size is given', async () => {
    const result = expectOk(await runJob('animation', fixture('clip-1080p.mov'), { end: 0.5, fps: 4 }));
    expect([result.output.info.width, result.output.info.height]).toEqual([480, 270]);
  });

  test('makes animated webp at the requested fps', async () => {
    const result = expectOk(await runJob('animation', fixture('clip.mp4'), { end: 1, fps: 5, width: 120, format: 'webp' }));
    const meta = await sharp(result.output.path, { animated: true }).metadata();
    expect(meta.format).toBe('webp');
    expect(Math.abs((meta.pages ?? 0) - 5)).toBeLessThanOrEqual(1);
    expect(result.output.info).toMatchObject({ format: 'webp', type: 'image/webp', width: 120 });
  });

  test('a one-minute gif at 20 fps (1200 frames) stays under 300 MB of ffmpeg memory', async () => {
    const watch = watchFfmpegPeakRss();
    const result = await runJob('animation', minute, { end: 60, fps: 20 });
    const peak = await watch.stop();
    const meta = await sharp(expectOk(result).output.path, { animated: true }).metadata();
    expect([meta.format, meta.width, meta.pageHeight]).toEqual(['gif', 480, 270]);
    expect(Math.abs((meta.pages ?? 0) - 1200)).toBeLessThanOrEqual(1);
    expect(peak.children).toBeGreaterThan(0);
    expect(peak.concurrent).toBeLessThanOrEqual(MAX_ANIMATION_RSS_BYTES);
  });

  test('reports gif progress once from 0 to 100 across the palette and frame passes', async () => {
    const seen: number[] = [];
    expectOk(await runJob('animation', minute, { end: 20, fps: 10 }, { onProgress: (stage, p) => stage === 'encode' && seen.push(p) }));
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(seen.filter((p) => p === 100)).toHaveLength(1);
    // The palette pass fills the first third, so the bar moves before the frames are written.
    expect(seen.some((p) => p > 0 && p < 33)).toBe(true);
    expect(seen.some((p) => p > 33 && p < 100)).toBe(true);
  });

  test.each([
    ['palette', (p: number) => p > 0 && p < 33],
    ['frame', (p: number) => p > 40 && p < 100],
  ])('a cancel during the %s pass kills ffmpeg and reports cancelled', async (_pass, when) => {
    const controller = new AbortController();
    const result = await runJob(
      'animation',
      minute,
      { end: 60, fps: 30 },
      {
        signal: controller.signal,
        onProgress: (stage, p) => {
          if (stage === 'encode' && when(p)) controller.abort();
        },
      },
    );
    expect(result).toEqual({ ok: false, stage: 'encode', error: { kind: 'cancelled', message: 'The job was cancelled.' } });
  });

  test('refuses an animation frame over KILN_MAX_ANIMATION_PIXELS before encoding', async () => {
    expect(await runJob('animation', fixture('clip.mp4'), { end: 1, width: 1920, height: 1080, fit: 'fill' })).toMatchObject({
      ok: false,
      error: {
        kind: 'invalid_input',
        message: expect.stringContaining('1920×1080 frame (2073600 pixels), over the limit of KILN_MAX_ANIMATION_PIXELS = 921600'),
      },
    });
  });

  test('refuses an animated webp over KILN_MAX_ANIMATED_WEBP_PIXELS, whose encoder holds every frame', async () => {
    expect(await runJob('animation', minute, { end: 60, fps: 30, format: 'webp' })).toEqual({
      ok: false,
      stage: 'encode',
      error: {
        kind: 'invalid_input',
        message:
          'An animated WebP of 1800 frames at 480×270 is 233280000 pixels in all (its encoder keeps every frame in memory), over the limit of KILN_MAX_ANIMATED_WEBP_PIXELS = 25000000; use format gif, a shorter clip (start/end), a lower fps or a smaller size, or raise KILN_MAX_ANIMATED_WEBP_PIXELS on the processor.',
      },
    });
    const limits = { maxAnimatedWebpPixels: 1_000_000 };
    expect(await runJob('animation', fixture('clip.mp4'), { end: 1, format: 'webp' }, { limits })).toMatchObject({
      ok: false,
      error: { kind: 'invalid_input', message: expect.stringContaining('10 frames at 480×270') },
    });
    expectOk(await runJob('animation', fixture('clip.mp4'), { end: 1, fps: 5, width: 320, format: 'webp' }, { limits }));
  });

  test('without end covers 5 s from start, and says so', async () => {
    const result = expectOk(await runJob('animation', minute, { start: 10, width: 160 }));
    const meta = await sharp(result.output.path, { animated: true }).metadata();
    expect(Math.abs((meta.pages ?? 0) - 50)).toBeLessThanOrEqual(1);
    expect(result.notes).toContain('No end given; animated 5 s from 10 s (at most 5 s).');
  });

  test('without end stops at the end of a shorter input', async () => {
    const result = expectOk(await runJob('animation', fixture('clip.mp4'), { start: 1, width: 160 }));
    const meta = await sharp(result.output.path, { animated: true }).metadata();
    expect(Math.abs((meta.pages ?? 0) - 10)).toBeLessThanOrEqual(1);
    expect(result.notes).toContain('No end given; animated 1 s from 1 s (at most 5 s).');
  });

  test('makes a gif at 50 fps with frame delays of 2/100 s', async () => {
    const result = expectOk(await runJob('animation', fixture('clip.mp4'), { end: 1, fps: 50, width: 120 }));
    const meta = await sharp(result.output.path, { animated: true }).metadata();
    expect(Math.abs((meta.pages ?? 0) - 50)).toBeLessThanOrEqual(1);
    expect(new Set(meta.delay)).toEqual(new Set([20]));
  });

  test('makes animated webp at 60 fps', async () => {
    const result = expectOk(await runJob('animation', fast, { fps: 60, width: 120, format: 'webp' }));
    const meta = await sharp(result.output.path, { animated: true }).metadata();
    expect(Math.abs((meta.pages ?? 0) - 60)).toBeLessThanOrEqual(1);
    expect(meta.delay?.every((ms) => ms >= 16 && ms <= 17)).toBe(true);
  });

  test('refuses a gif above 50 fps before it runs, naming fps', async () => {
    expect(await runJob('animation', fixture('clip.mp4'), { end: 1, fps: 60 })).toMatchObject({
      ok: false,
      stage: 'probe',
      error: { kind: 'invalid_input', message: expect.stringContaining('for options.fps but received 60') },
    });
  });

  test('reads duration as end = start + duration, and a percentage size', async () => {
    const result = expectOk(await runJob('animation', fixture('clip.mp4'), { start: 0.5, duration: 1, width: '25%' }));
    const meta = await sharp(result.output.path, { animated: true }).metadata();
    expect(Math.abs((meta.pages ?? 0) - 10)).toBeLessThanOrEqual(1);
    expect([result.output.info.width, result.output.info.height]).toEqual([160, 90]);
  });

  test('refuses an audio-only input', async () => {
    expect(await runJob('animation', fixture('tone.wav'), { end: 1 })).toMatchObject({ ok: false, error: { kind: 'no_video_stream' } });
  });
});
