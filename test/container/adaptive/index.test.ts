import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { hlsLadder } from '../../../container/adaptive/index.ts';
import { cleanupWorkDirs, expectOk, runJob, videoStream } from '../../support/inspect.ts';
import { fixture } from '../../support/media.ts';

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
