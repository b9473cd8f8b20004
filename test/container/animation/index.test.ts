import sharp from 'sharp';
import { afterAll, describe, expect, test } from 'vitest';
import { cleanupWorkDirs, expectOk, runJob } from '../../support/inspect.ts';
import { fixture } from '../../support/media.ts';

afterAll(cleanupWorkDirs);

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

  test('requires end', async () => {
    expect(await runJob('animation', fixture('clip.mp4'), {})).toMatchObject({
      ok: false,
      error: { kind: 'invalid_input', message: expect.stringMatching(/options\.end/) },
    });
  });

  test('refuses an audio-only input', async () => {
    expect(await runJob('animation', fixture('tone.wav'), { end: 1 })).toMatchObject({ ok: false, error: { kind: 'no_video_stream' } });
  });
});
