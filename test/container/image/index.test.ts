import { stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, test } from 'vitest';
import {
  cleanupWorkDirs,
  expectOk,
  frameAt,
  imageDifference,
  near,
  pixelAt,
  runJob,
  SAME_FRAME_MAX_DIFFERENCE,
  workDir,
} from '../../support/inspect.ts';
import { type FixtureName, fixture } from '../../support/media.ts';

afterAll(cleanupWorkDirs);

const RED = [255, 0, 0];
const GREEN = [0, 255, 0];
const BLUE = [0, 0, 255];

/** A local server that counts the requests it gets: an SVG's external references must never reach it. */
async function countingServer(): Promise<{ port: number; requests: () => number; close: () => void }> {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    requests: () => requests,
    close: () => server.close(),
  };
}

describe('image orientation', () => {
  test.each([1, 2, 3, 4, 5, 6, 7, 8])('applies EXIF orientation %i so the red corner ends up top left', async (n) => {
    const result = expectOk(await runJob('image', fixture(`orient-${n}.jpg` as FixtureName), { format: 'png' }));
    const path = result.output.path;
    const meta = await sharp(path).metadata();
    expect([meta.width, meta.height]).toEqual([60, 40]);
    expect(meta.orientation).toBeUndefined();
    expect(near(await pixelAt(path, 5, 5), RED)).toBe(true);
    expect(near(await pixelAt(path, 54, 5), GREEN)).toBe(true);
    expect(near(await pixelAt(path, 5, 34), BLUE)).toBe(true);
  });
});

describe('image colour and metadata', () => {
  test('strips EXIF so GPS coordinates never leak', async () => {
    const result = expectOk(await runJob('image', fixture('gps.jpg'), {}));
    const meta = await sharp(result.output.path).metadata();
    expect(meta.format).toBe('jpeg');
    expect(meta.exif).toBeUndefined();
    expect(meta.xmp).toBeUndefined();
  });

  test('converts CMYK to sRGB', async () => {
    const result = expectOk(await runJob('image', fixture('cmyk.jpg'), {}));
    const meta = await sharp(result.output.path).metadata();
    expect(meta.space).toBe('srgb');
    expect(meta.channels).toBe(3);
  });

  test('writes 16-bit PNG as 8-bit sRGB', async () => {
    const result = expectOk(await runJob('image', fixture('16bit.png'), {}));
    const meta = await sharp(result.output.path).metadata();
    expect(meta).toMatchObject({ format: 'png', depth: 'uchar', space: 'srgb' });
  });
});

describe('image alpha', () => {
  test.each(['png', 'webp', 'avif'] as const)('keeps transparency in %s', async (format) => {
    const result = expectOk(await runJob('image', fixture('alpha.png'), { format }));
    const meta = await sharp(result.output.path).metadata();
    expect(meta.hasAlpha).toBe(true);
    expect(result.output.info.format).toBe(format);
  });

  test('flattens transparency onto white for jpeg', async () => {
    const result = expectOk(await runJob('image', fixture('alpha.png'), { format: 'jpeg' }));
    const meta = await sharp(result.output.path).metadata();
    expect(meta.hasAlpha).toBe(false);
    expect(near(await pixelAt(result.output.path, 20, 50), [255, 255, 255], 10)).toBe(true);
  });
});

describe('image formats and sizes', () => {
  test('keeps the input format by default and turns HEIC into jpeg', async () => {
    const png = expectOk(await runJob('image', fixture('alpha.png'), {}));
    const heic = expectOk(await runJob('image', fixture('photo.heic'), {}));
    expect(png.output.info.format).toBe('png');
    expect(heic.output.info).toMatchObject({ format: 'jpeg', type: 'image/jpeg', width: 320, height: 240 });
  });

  test('resizes a photo to a percentage of its size as webp', async () => {
    const result = expectOk(await runJob('image', fixture('photo.png'), { width: '50%', format: 'webp' }));
    expect(result.output.info).toMatchObject({ format: 'webp', type: 'image/webp', width: 1000, height: 750 });
  });

  test('writes JPEG for format jpg, named .jpg', async () => {
    const result = expectOk(await runJob('image', fixture('alpha.png'), { width: 160, format: 'jpg' }));
    expect(result.output.path.endsWith('.jpg')).toBe(true);
    expect(result.output.info).toMatchObject({ format: 'jpeg', type: 'image/jpeg', width: 160, height: 80 });
    expect((await sharp(result.output.path).metadata()).format).toBe('jpeg');
  });

  test('quality auto is the medium tier', async () => {
    const sizeFor = async (quality: string) =>
      (await stat(expectOk(await runJob('image', fixture('photo.png'), { width: 400, format: 'webp', quality })).output.path)).size;
    const auto = await sizeFor('auto');
    expect(auto).toBe(await sizeFor('medium'));
    expect(auto).toBeLessThan(await sizeFor('very_high'));
  });

  test('never upscales a photo given one dimension', async () => {
    const result = expectOk(await runJob('image', fixture('alpha.png'), { width: 800 }));
    expect([result.output.info.width, result.output.info.height]).toEqual([200, 100]);
    expect(result.notes.join(' ')).toMatch(/not upscaled/);
  });

  test('fit cover crops to the exact box', async () => {
    const result = expectOk(
      await runJob('image', fixture('orient-1.jpg'), { width: 20, height: 20, fit: 'cover', position: 'top_left', format: 'png' }),
    );
    expect([result.output.info.width, result.output.info.height]).toEqual([20, 20]);
    expect(near(await pixelAt(result.output.path, 3, 3), RED)).toBe(true);
    expect(near(await pixelAt(result.output.path, 17, 3), GREEN)).toBe(true);
  });

  test('fit contain pads jpeg with the background colour', async () => {
    const result = expectOk(
      await runJob('image', fixture('orient-1.jpg'), { width: 60, height: 60, fit: 'contain', background: '#00ff00' }),
    );
    expect([result.output.info.width, result.output.info.height]).toEqual([60, 60]);
    expect(near(await pixelAt(result.output.path, 30, 2), GREEN)).toBe(true);
  });

  test('uses the first frame of an animated GIF and says so', async () => {
    const result = expectOk(await runJob('image', fixture('animated.gif'), { format: 'webp' }));
    expect(result.output.info).toMatchObject({ format: 'webp', width: 160, height: 90 });
    expect(result.notes.join(' ')).toMatch(/first frame/);
  });
});

describe('image from video', () => {
  test('grabs a frame at start', async () => {
    const result = expectOk(await runJob('image', fixture('clip.mp4'), { start: 1, format: 'webp', width: 320 }));
    expect(result.output.info).toMatchObject({ kind: 'image', format: 'webp', width: 320, height: 180 });
    expect(result.notes).toEqual([]);
    expect(await imageDifference(result.output.path, await frameAt(fixture('clip.mp4'), 1))).toBeLessThan(SAME_FRAME_MAX_DIFFERENCE);
    // The fixture's picture changes with time, so the same measure rejects a frame from another second.
    for (const wrong of [0, 1.5]) {
      expect(await imageDifference(result.output.path, await frameAt(fixture('clip.mp4'), wrong))).toBeGreaterThan(
        SAME_FRAME_MAX_DIFFERENCE,
      );
    }
  });

  test('clamps a start past the last frame and says which time it used', async () => {
    const result = expectOk(await runJob('image', fixture('clip.mp4'), { start: 9.5 }));
    expect(result.output.info).toMatchObject({ format: 'jpeg', width: 640, height: 360 });
    expect(result.notes[0]).toMatch(/^start 9\.5 s was past the last frame; used 1\.96\d s\.$/);
    const used = Number(/used ([\d.]+) s/.exec(result.notes[0]!)![1]);
    expect(await imageDifference(result.output.path, await frameAt(fixture('clip.mp4'), used))).toBeLessThan(SAME_FRAME_MAX_DIFFERENCE);
    expect(await imageDifference(result.output.path, await frameAt(fixture('clip.mp4'), 0))).toBeGreaterThan(SAME_FRAME_MAX_DIFFERENCE);
  });

  test('scales a video frame to a percentage of the video', async () => {
    const result = expectOk(await runJob('image', fixture('clip.mp4'), { start: 1, width: '25%', format: 'jpg' }));
    expect(result.output.info).toMatchObject({ format: 'jpeg', width: 160, height: 90 });
  });

  test('shows a rotated phone video upright', async () => {
    const result = expectOk(await runJob('image', fixture('rotated.mov'), {}));
    expect([result.output.info.width, result.output.info.height]).toEqual([360, 640]);
  });

  test('tone maps an HDR frame', async () => {
    const result = expectOk(await runJob('image', fixture('hdr-pq.mp4'), { format: 'png' }));
    expect(result.output.info).toMatchObject({ format: 'png', width: 320, height: 180 });
  });

  test('refuses an audio-only input', async () => {
    expect(await runJob('image', fixture('tone.wav'), {})).toMatchObject({ ok: false, error: { kind: 'no_video_stream' } });
  });
});

describe('image safety', () => {
  test('refuses a decompression bomb before decoding it', async () => {
    expect(await runJob('image', fixture('bomb.png'), {})).toMatchObject({ ok: false, stage: 'probe', error: { kind: 'too_many_pixels' } });
  });

  test('renders SVG without fetching its external references', async () => {
    const { port, requests, close } = await countingServer();
    const svg = join(await workDir(), 'tracker.svg');
    await writeFile(
      svg,
      `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="50" height="50">` +
        `<style>@import url(http://127.0.0.1:${port}/style.css);</style>` +
        `<rect width="50" height="50" fill="url(http://127.0.0.1:${port}/p.svg#g)"/>` +
        `<image href="http://127.0.0.1:${port}/a.png" width="50" height="50"/>` +
        `<image xlink:href="file:///etc/passwd" width="50" height="50"/></svg>`,
    );
    try {
      const result = expectOk(await runJob('image', svg, {}));
      expect(result.output.info).toMatchObject({ format: 'png', width: 50, height: 50 });
      expect(result.notes.join(' ')).toMatch(/external reference/);
      expect(requests()).toBe(0);
    } finally {
      close();
    }
  });

  test('applies the same rules to an SVG whose <svg> tag starts after 5 KiB of comment', async () => {
    const { port, requests, close } = await countingServer();
    const svg = join(await workDir(), 'late.svg');
    await writeFile(
      svg,
      `<?xml version="1.0"?>\n<!--${'x'.repeat(5 * 1024)}-->\n` +
        `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="50" height="50">` +
        `<image href="http://127.0.0.1:${port}/a.png" width="50" height="50"/>` +
        `<image xlink:href="file:///etc/passwd" width="50" height="50"/></svg>`,
    );
    try {
      const result = expectOk(await runJob('image', svg, {}));
      expect(result.input).toMatchObject({ kind: 'image', format: 'svg' });
      expect(result.output.info).toMatchObject({ format: 'png', width: 50, height: 50 });
      expect(result.notes).toContain('Removed 2 external reference(s) from the SVG; Kiln never fetches them.');
      expect(requests()).toBe(0);
    } finally {
      close();
    }
  });

  test('refuses SVG entity declarations', async () => {
    const svg = join(await workDir(), 'xxe.svg');
    await writeFile(
      svg,
      `<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&x;</text></svg>`,
    );
    expect(await runJob('image', svg, {})).toMatchObject({
      ok: false,
      error: { kind: 'invalid_input', message: expect.stringMatching(/ENTITY/) },
    });
  });
});
