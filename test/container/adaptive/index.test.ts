import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { hlsLadder } from '../../../container/adaptive/index.ts';
import { DEFAULT_LIMITS } from '../../../container/limits.ts';
import { processMedia } from '../../../container/process/index.ts';
import { audioStream, cleanupWorkDirs, expectOk, frameAt, near, pixelAt, runJob, videoStream, workDir } from '../../support/inspect.ts';
import { fixture } from '../../support/media.ts';

/** The variant playlists a master playlist lists, in order. */
async function variants(master: string): Promise<string[]> {
  return (await readFile(master, 'utf8')).split('\n').filter((l) => l.endsWith('.m3u8'));
}

/** The first segment of a rendition. */
async function firstSegment(master: string, rendition: string): Promise<string> {
  const folder = join(dirname(master), rendition);
  const segments = (await readdir(folder)).filter((f) => f.endsWith('.ts')).sort();
  return join(folder, segments[0]!);
}

afterAll(cleanupWorkDirs);

describe('hlsLadder', () => {
  test('offers every rung no taller than the source', () => {
    expect(hlsLadder(1920, 1080).map((r) => `${r.name} ${r.width}x${r.height}`)).toEqual([
      '1080p 1920x1080',
      '720p 1280x720',
      '480p 852x480',
      '360p 640x360',
    ]);
  });

  test('ladders portrait video by its short side', () => {
    expect(hlsLadder(720, 1280).map((r) => `${r.width}x${r.height}`)).toEqual(['720x1280', '480x852', '360x640']);
  });

  test('keeps a source smaller than the lowest rung as the only rendition', () => {
    expect(hlsLadder(320, 180)).toEqual([{ name: '180p', width: 320, height: 180, maxrate: 800_000 }]);
  });

  test("keeps an asked-for size as the top rendition, with the next rung up's bitrate cap, and the rungs below it", () => {
    expect(hlsLadder(1000, 562, { keepTop: true }).map((r) => `${r.name} ${r.width}x${r.height} ${r.maxrate}`)).toEqual([
      '562p 1000x562 3000000',
      '480p 854x480 1400000',
      '360p 640x360 800000',
    ]);
    expect(hlsLadder(1280, 720, { keepTop: true }).map((r) => r.name)).toEqual(['720p', '480p', '360p']);
  });
});

describe('adaptive_video', () => {
  test('writes a master playlist with renditions in subfolders', async () => {
    const result = expectOk(await runJob('adaptive_video', fixture('clip-1080p.mov'), { end: 1, quality: 'very_low' }));
    expect(result.output.info).toMatchObject({ format: 'hls', type: 'application/vnd.apple.mpegurl', kind: 'video' });
    const master = await readFile(result.output.path, 'utf8');
    expect(master).toMatch(/^#EXTM3U/);
    const variants = master.split('\n').filter((l) => l.endsWith('.m3u8'));
    expect(variants).toEqual(['1080p/index.m3u8', '720p/index.m3u8', '480p/index.m3u8', '360p/index.m3u8']);
    expect(master).toMatch(/RESOLUTION=1920x1080/);
    expect(master).toMatch(/CODECS="avc1\.[0-9a-f]+,mp4a\.40\.2"/);
    const root = dirname(result.output.path);
    const media = await readFile(join(root, '360p', 'index.m3u8'), 'utf8');
    expect(media).toMatch(/#EXT-X-ENDLIST/);
    const segments = (await readdir(join(root, '360p'))).filter((f) => f.endsWith('.ts'));
    expect(segments.length).toBeGreaterThan(0);
    const firstSegment = await videoStream(join(root, '360p', segments[0]!));
    expect(firstSegment).toMatchObject({ codec_name: 'h264', width: 640, height: 360, pix_fmt: 'yuv420p' });
  });
});

describe('adaptive_video sizing (width, height, fit, position, background)', () => {
  test('width caps the top rendition and the ladder below follows', async () => {
    const result = expectOk(await runJob('adaptive_video', fixture('clip-1080p.mov'), { width: 1280, end: 1, quality: 'very_low' }));
    expect(await variants(result.output.path)).toEqual(['720p/index.m3u8', '480p/index.m3u8', '360p/index.m3u8']);
    expect(await videoStream(await firstSegment(result.output.path, '720p'))).toMatchObject({ width: 1280, height: 720 });
    expect(await videoStream(await firstSegment(result.output.path, '360p'))).toMatchObject({ width: 640, height: 360 });
  });

  test('a percentage sizes the top rendition off the source', async () => {
    const result = expectOk(await runJob('adaptive_video', fixture('clip-1080p.mov'), { height: '50%', end: 1, quality: 'very_low' }));
    expect(await variants(result.output.path)).toEqual(['540p/index.m3u8', '480p/index.m3u8', '360p/index.m3u8']);
    expect(await videoStream(await firstSegment(result.output.path, '540p'))).toMatchObject({ width: 960, height: 540 });
  });

  test('fit contain pads the top rendition with the background colour at the position', async () => {
    const options = { width: 480, height: 480, fit: 'contain', position: 'top', background: '#ff0000', quality: 'very_low' };
    const result = expectOk(await runJob('adaptive_video', fixture('clip.mp4'), options));
    expect(await variants(result.output.path)).toEqual(['480p/index.m3u8', '360p/index.m3u8']);
    const top = await firstSegment(result.output.path, '480p');
    expect(await videoStream(top)).toMatchObject({ width: 480, height: 480 });
    expect(await videoStream(await firstSegment(result.output.path, '360p'))).toMatchObject({ width: 360, height: 360 });
    // 640x360 in a 480x480 box is 480x270 at the top: rows 270–479 are padding (centred, they would be 0–104 and 375–479).
    const frame = await frameAt(top, 0);
    expect(near(await pixelAt(frame, 240, 300), [255, 0, 0])).toBe(true);
    expect(near(await pixelAt(frame, 240, 470), [255, 0, 0])).toBe(true);
  });

  test('fit cover crops the top rendition to the box', async () => {
    const result = expectOk(
      await runJob('adaptive_video', fixture('clip.mp4'), { width: 360, height: 360, fit: 'cover', quality: 'very_low', end: 1 }),
    );
    expect(await variants(result.output.path)).toEqual(['360p/index.m3u8']);
    expect(await videoStream(await firstSegment(result.output.path, '360p'))).toMatchObject({ width: 360, height: 360 });
  });

  test('never upscales: a width past the source keeps the source size and says so', async () => {
    const result = expectOk(await runJob('adaptive_video', fixture('clip.mp4'), { width: 3840, quality: 'very_low', end: 1 }));
    expect(await variants(result.output.path)).toEqual(['360p/index.m3u8']);
    expect(await videoStream(await firstSegment(result.output.path, '360p'))).toMatchObject({ width: 640, height: 360 });
    expect(result.notes.join(' ')).toMatch(/not upscaled/);
  });
});

describe('adaptive_video from audio only', () => {
  test('packages an audio file as audio-only HLS with one AAC variant', async () => {
    const result = expectOk(await runJob('adaptive_video', fixture('tone.wav'), { format: 'hls' }));
    expect(result.output.info).toMatchObject({ format: 'hls', type: 'application/vnd.apple.mpegurl', kind: 'audio', has_audio: true });
    expect(result.output.info.codecs).toEqual({ audio: 'aac' });
    const master = await readFile(result.output.path, 'utf8');
    expect(master).toMatch(/CODECS="mp4a\.40\.2"/);
    expect(master).not.toMatch(/RESOLUTION=|avc1/);
    expect(await variants(result.output.path)).toEqual(['audio/index.m3u8']);
    const media = await readFile(join(dirname(result.output.path), 'audio', 'index.m3u8'), 'utf8');
    expect(media).toMatch(/#EXT-X-ENDLIST/);
    expect(await audioStream(await firstSegment(result.output.path, 'audio'))).toMatchObject({ codec_name: 'aac', channels: 2 });
  });

  test('notes that sizing does not apply to an audio-only input', async () => {
    const result = expectOk(await runJob('adaptive_video', fixture('tone.wav'), { width: 1280, start: 0.5 }));
    expect(result.notes).toContain('The input has no video, so width did not apply; the stream is audio only.');
    expect(result.output.info.duration).toBeCloseTo(1.5, 0);
  });

  test('still refuses an input with neither video nor audio', async () => {
    expect(await runJob('adaptive_video', fixture('photo.png'), {})).toMatchObject({ ok: false, error: { kind: 'no_video_stream' } });
  });
});

describe('adaptive_video master playlist name', () => {
  test('names the master playlist as the output asked (s3://…/stream.m3u8)', async () => {
    const result = expectOk(
      await processMedia({
        kind: 'adaptive_video',
        options: { end: 1, quality: 'very_low' },
        inputPath: fixture('clip.mp4'),
        workDir: await workDir(),
        outputName: 'stream.m3u8',
        limits: DEFAULT_LIMITS,
      }),
    );
    expect(basename(result.output.path)).toBe('stream.m3u8');
    expect(await variants(result.output.path)).toEqual(['360p/index.m3u8']);
    expect(result.output.info).toMatchObject({ format: 'hls', width: 640, height: 360 });
  });
});
