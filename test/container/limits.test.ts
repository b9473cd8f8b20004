import { afterAll, describe, expect, test } from 'vitest';
import { DEFAULT_LIMITS, InvalidLimitError, limitsFromEnv, MAX_PROCESSING_S_CAP } from '../../container/limits.ts';
import { PRESIGNED_URL_TTL_S } from '../../schemas/processor.ts';
import { cleanupWorkDirs, expectOk, runJob } from '../support/inspect.ts';
import { fixture } from '../support/media.ts';

afterAll(cleanupWorkDirs);

describe('limitsFromEnv', () => {
  test('uses safe defaults when nothing is configured', () => {
    expect(limitsFromEnv({})).toEqual(DEFAULT_LIMITS);
    expect(DEFAULT_LIMITS.maxInputBytes).toBe(4 * 1024 ** 3);
    expect(DEFAULT_LIMITS.maxDurationS).toBe(4 * 3600);
    expect(DEFAULT_LIMITS.maxOutputBytes).toBe(2 * 1024 ** 3);
    expect(DEFAULT_LIMITS.maxOutputImagePixels).toBe(100_000_000);
    expect(DEFAULT_LIMITS.maxOutputVideoPixels).toBe(7680 * 4320);
    expect(DEFAULT_LIMITS.maxAnimationPixels).toBe(1280 * 720);
    expect(DEFAULT_LIMITS.maxAnimatedWebpPixels).toBe(25_000_000);
    expect(DEFAULT_LIMITS.maxAudioChannels).toBe(8);
    expect(DEFAULT_LIMITS.maxLosslessAudioS).toBe(3600);
  });

  test('reads each limit from its environment variable', () => {
    const limits = limitsFromEnv({
      KILN_MAX_INPUT_BYTES: '1000',
      KILN_MAX_DURATION_S: '60',
      KILN_MAX_PIXELS: '1000000',
      KILN_MAX_VIDEO_PIXELS: '2000000',
      KILN_MAX_PROCESSING_S: '30',
      KILN_MAX_OUTPUT_BYTES: '5000',
      KILN_MAX_OUTPUT_PIXELS: '3000000',
      KILN_MAX_OUTPUT_VIDEO_PIXELS: '4000000',
      KILN_MAX_ANIMATION_PIXELS: '500000',
      KILN_MAX_ANIMATED_WEBP_PIXELS: '9000000',
      KILN_MAX_AUDIO_CHANNELS: '2',
      KILN_MAX_LOSSLESS_AUDIO_S: '600',
      KILN_MIN_INPUT_BYTES_PER_S: '1024',
      KILN_INPUT_RATE_WINDOW_S: '20',
      KILN_INPUT_DEADLINE_S: '120',
      KILN_INPUT_DEADLINE_BYTES_PER_S: '1048576',
    });
    expect(limits).toEqual({
      maxInputBytes: 1000,
      maxDurationS: 60,
      maxImagePixels: 1_000_000,
      maxVideoPixels: 2_000_000,
      maxProcessingS: 30,
      maxOutputBytes: 5000,
      maxOutputImagePixels: 3_000_000,
      maxOutputVideoPixels: 4_000_000,
      maxAnimationPixels: 500_000,
      maxAnimatedWebpPixels: 9_000_000,
      maxAudioChannels: 2,
      maxLosslessAudioS: 600,
      minInputBytesPerS: 1024,
      inputRateWindowS: 20,
      inputDeadlineS: 120,
      inputDeadlineBytesPerS: 1_048_576,
    });
  });

  test('refuses a malformed value instead of silently disabling the limit', () => {
    expect(() => limitsFromEnv({ KILN_MAX_INPUT_BYTES: 'lots' })).toThrow(
      'Expected a positive number for KILN_MAX_INPUT_BYTES but received "lots"',
    );
    expect(() => limitsFromEnv({ KILN_MAX_DURATION_S: '0' })).toThrow(/KILN_MAX_DURATION_S/);
    expect(() => limitsFromEnv({ KILN_MAX_PIXELS: '-1' })).toThrow(InvalidLimitError);
    expect(() => limitsFromEnv({ KILN_MAX_OUTPUT_BYTES: '4GB' })).toThrow(/KILN_MAX_OUTPUT_BYTES/);
  });
});

describe('output pixel limits', () => {
  test('refuses a 16384² image from a small picture before decoding anything', async () => {
    expect(await runJob('image', fixture('alpha.png'), { width: 16384, height: 16384, fit: 'fill' })).toEqual({
      ok: false,
      stage: 'encode',
      error: {
        kind: 'invalid_input',
        message:
          'The output needs a 16384×16384 frame (268435456 pixels), over the limit of KILN_MAX_OUTPUT_PIXELS = 100000000; ask for a smaller width/height, or raise KILN_MAX_OUTPUT_PIXELS on the processor.',
      },
    });
  });

  test('counts the frame that cover scales to before it crops', async () => {
    const result = await runJob('image', fixture('alpha.png'), { width: 16384, height: 1, fit: 'cover', format: 'png' });
    expect(result).toMatchObject({ ok: false, error: { kind: 'invalid_input', message: expect.stringContaining('16384×8192 frame') } });
  });

  test('applies KILN_MAX_OUTPUT_PIXELS to images', async () => {
    const result = await runJob(
      'image',
      fixture('alpha.png'),
      { width: 400, height: 400, fit: 'fill' },
      { limits: { maxOutputImagePixels: 100_000 } },
    );
    expect(result).toMatchObject({
      ok: false,
      error: {
        kind: 'invalid_input',
        message: expect.stringContaining('400×400 frame (160000 pixels), over the limit of KILN_MAX_OUTPUT_PIXELS = 100000'),
      },
    });
    expectOk(
      await runJob('image', fixture('alpha.png'), { width: 300, height: 300, fit: 'fill' }, { limits: { maxOutputImagePixels: 100_000 } }),
    );
  });

  test('refuses a 16384² video before encoding', async () => {
    expect(await runJob('video', fixture('clip.mp4'), { width: 16384, height: 16384, fit: 'contain' })).toMatchObject({
      ok: false,
      error: {
        kind: 'invalid_input',
        message: expect.stringContaining('16384×16384 frame (268435456 pixels), over the limit of KILN_MAX_OUTPUT_VIDEO_PIXELS = 33177600'),
      },
    });
  });

  test('applies KILN_MAX_OUTPUT_VIDEO_PIXELS to video and to the top HLS rendition', async () => {
    const limits = { maxOutputVideoPixels: 320 * 180 };
    expect(await runJob('video', fixture('clip.mp4'), { width: 640, height: 360, fit: 'fill', end: 0.5 }, { limits })).toMatchObject({
      ok: false,
      error: { kind: 'invalid_input', message: expect.stringContaining('KILN_MAX_OUTPUT_VIDEO_PIXELS = 57600') },
    });
    expect(await runJob('adaptive_video', fixture('clip.mp4'), { end: 0.5 }, { limits })).toMatchObject({
      ok: false,
      error: { kind: 'invalid_input', message: expect.stringContaining('640×360 frame') },
    });
  });
});

describe('lossless audio limits', () => {
  test('refuses more channels than KILN_MAX_AUDIO_CHANNELS in wav and flac, and mixes lossy formats down as before', async () => {
    for (const format of ['wav', 'flac'] as const) {
      expect(await runJob('audio', fixture('clip.mp4'), { format }, { limits: { maxAudioChannels: 1 } })).toEqual({
        ok: false,
        stage: 'encode',
        error: {
          kind: 'invalid_input',
          message: `The input has 2 audio channels and lossless ${format} keeps them all, over the limit of KILN_MAX_AUDIO_CHANNELS = 1; use a lossy format (mixed down to stereo), or raise KILN_MAX_AUDIO_CHANNELS on the processor.`,
        },
      });
    }
    expectOk(await runJob('audio', fixture('clip.mp4'), { format: 'mp3' }, { limits: { maxAudioChannels: 1 } }));
  });

  test('refuses a lossless output longer than KILN_MAX_LOSSLESS_AUDIO_S, counting from start to end', async () => {
    const limits = { maxLosslessAudioS: 1 };
    expect(await runJob('audio', fixture('tone.wav'), { format: 'flac' }, { limits })).toMatchObject({
      ok: false,
      error: {
        kind: 'invalid_input',
        message:
          'A lossless flac output of 2 s is too long, over the limit of KILN_MAX_LOSSLESS_AUDIO_S = 1; ask for a shorter clip (start/end) or a lossy format, or raise KILN_MAX_LOSSLESS_AUDIO_S on the processor.',
      },
    });
    expectOk(await runJob('audio', fixture('tone.wav'), { format: 'flac', start: 1 }, { limits }));
  });

  test('refuses a WAV bigger than KILN_MAX_OUTPUT_BYTES before writing it', async () => {
    // tone.wav: 2 s of 44.1 kHz mono, 176 400 bytes of samples.
    expect(await runJob('audio', fixture('tone.wav'), { format: 'wav' }, { limits: { maxOutputBytes: 100_000 } })).toMatchObject({
      ok: false,
      error: {
        kind: 'invalid_input',
        message: expect.stringContaining('A 2 s 1-channel WAV would be 176400 bytes, over the limit of KILN_MAX_OUTPUT_BYTES = 100000'),
      },
    });
  });
});

describe('output byte limit', () => {
  const tooBig = {
    ok: false,
    stage: 'encode',
    error: {
      kind: 'invalid_input',
      message: expect.stringMatching(
        /^The output grew past 20000 bytes and was stopped, over the limit of KILN_MAX_OUTPUT_BYTES = 20000; .* or raise KILN_MAX_OUTPUT_BYTES on the processor\.$/,
      ),
    },
  };
  const limits = { maxOutputBytes: 20_000 };

  test('stops a video, an HLS ladder, a flac and an animation that write more than KILN_MAX_OUTPUT_BYTES', async () => {
    expect(await runJob('video', fixture('clip.mp4'), {}, { limits })).toMatchObject(tooBig);
    expect(await runJob('adaptive_video', fixture('clip.mp4'), {}, { limits })).toMatchObject(tooBig);
    expect(await runJob('audio', fixture('tone.wav'), { format: 'flac' }, { limits })).toMatchObject(tooBig);
    expect(await runJob('animation', fixture('clip.mp4'), { end: 2, format: 'webp' }, { limits })).toMatchObject(tooBig);
  });

  test('stops an image that writes more than KILN_MAX_OUTPUT_BYTES', async () => {
    expect(await runJob('image', fixture('photo.png'), { format: 'png' }, { limits })).toMatchObject(tooBig);
    expect(await runJob('image', fixture('clip.mp4'), { format: 'png' }, { limits })).toMatchObject(tooBig);
  });

  test('keeps the longest run inside the lifetime of the presigned URLs minted at its start', () => {
    expect(DEFAULT_LIMITS.maxProcessingS).toBeLessThanOrEqual(MAX_PROCESSING_S_CAP);
    expect(MAX_PROCESSING_S_CAP).toBeLessThan(PRESIGNED_URL_TTL_S);
    expect(limitsFromEnv({ KILN_MAX_PROCESSING_S: String(MAX_PROCESSING_S_CAP) }).maxProcessingS).toBe(MAX_PROCESSING_S_CAP);
    expect(() => limitsFromEnv({ KILN_MAX_PROCESSING_S: String(PRESIGNED_URL_TTL_S) })).toThrow(
      `Expected at most ${MAX_PROCESSING_S_CAP} for KILN_MAX_PROCESSING_S (presigned URLs expire after that) but received "${PRESIGNED_URL_TTL_S}"`,
    );
  });
});
