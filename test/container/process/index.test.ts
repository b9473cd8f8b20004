import { afterAll, describe, expect, test } from 'vitest';
import { childPids, cleanupWorkDirs, expectOk, isRunning, runJob } from '../../support/inspect.ts';
import { fixture } from '../../support/media.ts';

afterAll(cleanupWorkDirs);

describe('processMedia validation', () => {
  test('names an unknown option', async () => {
    expect(await runJob('video', fixture('clip.mp4'), { widht: 640 })).toEqual({
      ok: false,
      stage: 'probe',
      error: { kind: 'invalid_input', message: 'Unknown field options.widht; remove it or check its spelling' },
    });
  });

  test('explains an out-of-range value in the shared sentence template', async () => {
    const result = await runJob('video', fixture('clip.mp4'), { fps: 120 });
    expect(result).toMatchObject({
      ok: false,
      error: { kind: 'invalid_input', message: 'Expected a number <= 60 for options.fps but received 120 of type number' },
    });
  });

  test('refuses a codec that does not fit the format', async () => {
    const result = await runJob('video', fixture('clip.mp4'), { format: 'webm', codec: 'h264' });
    expect(result).toMatchObject({ ok: false, error: { kind: 'invalid_input', message: expect.stringMatching(/options\.codec/) } });
  });

  test('treats missing options as the defaults', async () => {
    expectOk(await runJob('audio', fixture('tone.wav'), undefined));
  });
});

describe('processMedia bad inputs', () => {
  test.each([
    ['empty.mp4', 'input_not_media'],
    ['truncated.mp4', 'input_not_media'],
    ['text.mp4', 'input_not_media'],
    ['bomb.png', 'too_many_pixels'],
  ] as const)('%s fails at probe with %s', async (name, kind) => {
    expect(await runJob('video', fixture(name), {})).toMatchObject({ ok: false, stage: 'probe', error: { kind } });
  });

  test('an input over the limits fails at probe', async () => {
    expect(await runJob('video', fixture('clip.mp4'), {}, { limits: { maxInputBytes: 10_000 } })).toMatchObject({
      ok: false,
      stage: 'probe',
      error: { kind: 'input_too_large' },
    });
    expect(await runJob('video', fixture('clip.mp4'), {}, { limits: { maxDurationS: 1 } })).toMatchObject({
      ok: false,
      stage: 'probe',
      error: { kind: 'input_too_long' },
    });
  });

  test('an encode over the processing time limit is killed and reported as a timeout', async () => {
    const result = await runJob('video', fixture('clip-1080p.mov'), { quality: 'very_high' }, { limits: { maxProcessingS: 0.2 } });
    expect(result).toMatchObject({ ok: false, stage: 'encode', error: { kind: 'timeout' } });
  });
});

describe('processMedia progress and cancellation', () => {
  test('reports probe then encode progress ending at 100', async () => {
    const events: string[] = [];
    expectOk(await runJob('video', fixture('clip.mp4'), { width: 160 }, { onProgress: (stage, p) => events.push(`${stage}:${p}`) }));
    expect(events.slice(0, 2)).toEqual(['probe:0', 'probe:100']);
    expect(events).toContain('encode:0');
    expect(events.at(-1)).toBe('encode:100');
  });

  test('kills the encode and returns cancelled when the signal aborts', async () => {
    const controller = new AbortController();
    let encoding!: () => void;
    const started = new Promise<void>((resolve) => (encoding = resolve));
    const result = runJob(
      'video',
      fixture('clip-1080p.mov'),
      { quality: 'very_high' },
      {
        signal: controller.signal,
        // Encode progress above 0 is parsed from ffmpeg's own output, so ffmpeg is running by then.
        onProgress: (stage, percent) => {
          if (stage === 'encode' && percent > 0) encoding();
        },
      },
    );
    await started;
    const [ffmpeg, ...others] = await childPids('ffmpeg');
    expect(ffmpeg).toBeDefined();
    expect(others).toEqual([]);
    controller.abort();
    expect(await result).toMatchObject({ ok: false, stage: 'encode', error: { kind: 'cancelled' } });
    expect(isRunning(ffmpeg!)).toBe(false);
  });

  test('does nothing when the signal is already aborted', async () => {
    expect(await runJob('video', fixture('clip.mp4'), {}, { signal: AbortSignal.abort() })).toMatchObject({
      ok: false,
      stage: 'probe',
      error: { kind: 'cancelled' },
    });
  });
});
