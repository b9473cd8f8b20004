import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { traceFfmpeg } from '../../../container/ffmpeg/index.ts';
import { DEFAULT_LIMITS } from '../../../container/limits.ts';
import { processTogether } from '../../../container/process/together.ts';
import { videoStream } from '../../support/inspect.ts';
import { fixture } from '../../support/media.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-together-'));
});
afterAll(async () => {
  traceFfmpeg(null);
  await rm(dir, { recursive: true, force: true });
});

describe('processTogether', () => {
  test('one ffmpeg for every video output and frame; results in request order; a bad output fails alone', async () => {
    const commands: string[] = [];
    traceFfmpeg((line) => {
      if (line.startsWith('$ ffmpeg ')) commands.push(line);
    });
    const results = await processTogether({
      inputPath: fixture('clip.mp4'),
      dir: join(dir, 'mixed'),
      limits: DEFAULT_LIMITS,
      outputs: [
        { kind: 'video', options: { width: 160 } },
        { kind: 'image', options: { width: 0 } },
        { kind: 'image', options: { width: 64, format: 'webp', start: 1 } },
        { kind: 'video', options: { width: 96, format: 'webm' } },
      ],
    });
    traceFfmpeg(null);
    expect(commands).toHaveLength(1);
    expect(commands[0]).toContain('split=3');
    const [mp4, bad, thumb, webm] = results;
    expect(bad).toMatchObject({ ok: false, stage: 'probe', error: { kind: 'invalid_input' } });
    expect(bad?.ok === false && bad.error.message).toMatch(/options\.width/);
    if (!mp4?.ok || !thumb?.ok || !webm?.ok) throw new Error(JSON.stringify(results));
    expect(mp4.input).toMatchObject({ kind: 'video', width: 640, height: 360 });
    expect(await videoStream(mp4.output.path)).toMatchObject({ codec_name: 'h264', width: 160, height: 90 });
    expect(await sharp(thumb.output.path).metadata()).toMatchObject({ format: 'webp', width: 64, height: 36 });
    expect(await videoStream(webm.output.path)).toMatchObject({ codec_name: 'vp9', width: 96, height: 54 });
  });

  test('an aborted run gives every output a cancelled result', async () => {
    const controller = new AbortController();
    controller.abort();
    const results = await processTogether({
      inputPath: fixture('clip.mp4'),
      dir: join(dir, 'aborted'),
      limits: DEFAULT_LIMITS,
      signal: controller.signal,
      outputs: [
        { kind: 'video', options: { width: 160 } },
        { kind: 'image', options: { width: 64 } },
      ],
    });
    expect(results.map((r) => (r.ok ? 'ok' : r.error.kind))).toEqual(['cancelled', 'cancelled']);
  });
});
