import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { h264Level } from '../../../container/video/index.ts';
import {
  audioStream,
  cleanupWorkDirs,
  countFrames,
  expectOk,
  near,
  pixelAt,
  probe,
  runJob,
  topLevelAtoms,
  videoStream,
  workDir,
} from '../../support/inspect.ts';
import { fixture } from '../../support/media.ts';

const run = promisify(execFile);
afterAll(cleanupWorkDirs);

async function firstFrame(path: string): Promise<string> {
  const out = join(await workDir(), 'frame.png');
  await run('ffmpeg', ['-v', 'error', '-i', path, '-frames:v', '1', out]);
  return out;
}

describe('video to web-ready mp4', () => {
  test('makes H.264 High yuv420p with AAC-LC stereo 48 kHz, faststart, BT.709 and constant frame rate', async () => {
    const result = expectOk(await runJob('video', fixture('clip.mp4'), { width: 320 }));
    const path = result.output.path;
    const v = await videoStream(path);
    const a = await audioStream(path);
    expect(v).toMatchObject({
      codec_name: 'h264',
      profile: 'High',
      pix_fmt: 'yuv420p',
      width: 320,
      height: 180,
      color_primaries: 'bt709',
      color_transfer: 'bt709',
      color_space: 'bt709',
    });
    expect(v.avg_frame_rate).toBe(v.r_frame_rate);
    expect(v.level).toBe(30);
    expect(a).toMatchObject({ codec_name: 'aac', profile: 'LC', channels: 2, sample_rate: '48000' });
    const atoms = await topLevelAtoms(path);
    expect(atoms.indexOf('moov')).toBeLessThan(atoms.indexOf('mdat'));
    expect(result.output.info).toMatchObject({ kind: 'video', format: 'mp4', type: 'video/mp4', width: 320, height: 180, rotation: 0 });
    expect(result.output.info.duration).toBeCloseTo(2, 1);
    expect(result.input).toMatchObject({ width: 640, height: 360 });
  });

  test('applies a phone video’s rotation and leaves no rotation flag behind', async () => {
    const result = expectOk(await runJob('video', fixture('rotated.mov'), {}));
    const v = await videoStream(result.output.path);
    expect([v.width, v.height]).toEqual([360, 640]);
    expect(v.side_data_list?.some((d) => d.side_data_type === 'Display Matrix') ?? false).toBe(false);
    expect(v.tags?.rotate).toBeUndefined();
    expect(result.output.info.rotation).toBe(0);
  });

  test('never upscales a single dimension and says so in the notes', async () => {
    const result = expectOk(await runJob('video', fixture('no-audio.mp4'), { width: 1920 }));
    expect([result.output.info.width, result.output.info.height]).toEqual([640, 360]);
    expect(result.notes.join(' ')).toMatch(/not upscaled/);
  });

  test('rounds odd source dimensions down to even', async () => {
    const result = expectOk(await runJob('video', fixture('odd.mkv'), {}));
    expect([result.output.info.width, result.output.info.height]).toEqual([320, 240]);
  });

  test('converts 4:4:4 and 10-bit HEVC sources to 8-bit 4:2:0 H.264', async () => {
    for (const name of ['h264-444.mp4', 'hevc10.mp4'] as const) {
      const result = expectOk(await runJob('video', fixture(name), {}));
      expect(await videoStream(result.output.path)).toMatchObject({ codec_name: 'h264', profile: 'High', pix_fmt: 'yuv420p' });
    }
  });

  test('tone maps PQ and HLG HDR to SDR BT.709', async () => {
    for (const name of ['hdr-pq.mp4', 'hdr-hlg.mp4'] as const) {
      const result = expectOk(await runJob('video', fixture(name), {}));
      expect(await videoStream(result.output.path)).toMatchObject({
        pix_fmt: 'yuv420p',
        color_transfer: 'bt709',
        color_primaries: 'bt709',
        color_space: 'bt709',
      });
    }
  });

  test('turns variable frame rate into a constant frame rate', async () => {
    const result = expectOk(await runJob('video', fixture('vfr.mp4'), {}));
    const v = await videoStream(result.output.path);
    expect(v.avg_frame_rate).toBe(v.r_frame_rate);
  });

  test('encodes at the requested frame rate', async () => {
    const result = expectOk(await runJob('video', fixture('no-audio.mp4'), { fps: 15 }));
    expect(result.output.info.fps).toBe(15);
    expect(Math.abs((await countFrames(result.output.path)) - 15)).toBeLessThanOrEqual(1);
  });

  test('leaves audio out when the source has none or mute is set', async () => {
    const none = expectOk(await runJob('video', fixture('no-audio.mp4'), {}));
    const muted = expectOk(await runJob('video', fixture('clip.mp4'), { mute: true, width: 160 }));
    expect(await audioStream(none.output.path)).toBeUndefined();
    expect(await audioStream(muted.output.path)).toBeUndefined();
    expect(muted.output.info.has_audio).toBe(false);
  });

  test('cuts from start to end', async () => {
    const result = expectOk(await runJob('video', fixture('clip.mp4'), { start: 0.5, end: 1.5, width: 160 }));
    expect(result.output.info.duration).toBeGreaterThan(0.9);
    expect(result.output.info.duration).toBeLessThan(1.15);
  });

  test('clamps an end past the input and notes it', async () => {
    const result = expectOk(await runJob('video', fixture('no-audio.mp4'), { end: 30, width: 160 }));
    expect(result.notes.join(' ')).toMatch(/end 30 s was past the end/);
  });

  test('refuses a start past the end of the input', async () => {
    const result = await runJob('video', fixture('clip.mp4'), { start: 10 });
    expect(result).toMatchObject({
      ok: false,
      stage: 'encode',
      error: { kind: 'invalid_input', message: expect.stringMatching(/start 10 s/) },
    });
  });

  test('pads to the exact box with the background colour for fit contain', async () => {
    const result = expectOk(
      await runJob('video', fixture('no-audio.mp4'), { width: 320, height: 320, fit: 'contain', background: '#ff0000' }),
    );
    expect([result.output.info.width, result.output.info.height]).toEqual([320, 320]);
    expect(near(await pixelAt(await firstFrame(result.output.path), 160, 5), [255, 0, 0], 60)).toBe(true);
  });

  test('crops to the exact box for fit cover', async () => {
    const result = expectOk(await runJob('video', fixture('no-audio.mp4'), { width: 200, height: 200, fit: 'cover' }));
    expect([result.output.info.width, result.output.info.height]).toEqual([200, 200]);
  });

  test('makes WebM with VP9 and Opus', async () => {
    const result = expectOk(await runJob('video', fixture('clip.mp4'), { format: 'webm', width: 160 }));
    expect(result.output.info).toMatchObject({ format: 'webm', type: 'video/webm', codecs: { video: 'vp9', audio: 'opus' } });
  });

  test('makes H.265 tagged hvc1 for Apple players', async () => {
    const result = expectOk(await runJob('video', fixture('no-audio.mp4'), { codec: 'h265', width: 160 }));
    const v = (await probe(result.output.path)).streams?.[0] as unknown as Record<string, unknown>;
    expect(v).toMatchObject({ codec_name: 'hevc', codec_tag_string: 'hvc1', pix_fmt: 'yuv420p' });
  });

  test('makes AV1 in mp4', async () => {
    const result = expectOk(await runJob('video', fixture('no-audio.mp4'), { codec: 'av1', width: 160, bitrate: 500_000 }));
    expect(result.output.info.codecs.video).toBe('av1');
  });

  test('turns an animated GIF into mp4 at the GIF’s frame rate', async () => {
    const result = expectOk(await runJob('video', fixture('animated.gif'), {}));
    expect(result.output.info).toMatchObject({ format: 'mp4', width: 160, height: 90, fps: 10, codecs: { video: 'h264' } });
  });

  test('stops after frames, cutting the audio with the video', async () => {
    const result = expectOk(await runJob('video', fixture('clip.mp4'), { frames: 10, width: 160 }));
    expect(await countFrames(result.output.path)).toBe(10);
    expect(Number((await audioStream(result.output.path))?.duration)).toBeLessThan(0.5);
    expect(result.output.info.duration).toBeLessThan(0.5);
  });

  test('with start and end, frames or end stops the clip, whichever comes first', async () => {
    const fewer = expectOk(await runJob('video', fixture('no-audio.mp4'), { start: 0.2, end: 0.8, frames: 6, width: 160, fps: 30 }));
    expect(await countFrames(fewer.output.path)).toBe(6);
    const shorter = expectOk(await runJob('video', fixture('no-audio.mp4'), { start: 0.2, end: 0.5, frames: 20, width: 160, fps: 30 }));
    expect(Math.abs((await countFrames(shorter.output.path)) - 9)).toBeLessThanOrEqual(1);
  });

  test('reads duration as end = start + duration', async () => {
    const result = expectOk(await runJob('video', fixture('clip.mp4'), { start: 0.5, duration: 1, width: 160 }));
    expect(result.output.info.duration).toBeGreaterThan(0.9);
    expect(result.output.info.duration).toBeLessThan(1.15);
  });

  test('drops the audio for mute_video, the guides’ name for mute', async () => {
    const result = expectOk(await runJob('video', fixture('clip.mp4'), { mute_video: true, width: 160 }));
    expect(await audioStream(result.output.path)).toBeUndefined();
    expect(result.notes).toContain('Audio removed (mute).');
  });

  test('scales to a percentage of the source', async () => {
    const result = expectOk(await runJob('video', fixture('clip.mp4'), { width: '50%', height: '50%' }));
    expect([result.output.info.width, result.output.info.height]).toEqual([320, 180]);
  });

  test('refuses av1 in mov before it runs, naming codec', async () => {
    expect(await runJob('video', fixture('no-audio.mp4'), { codec: 'av1', format: 'mov' })).toMatchObject({
      ok: false,
      stage: 'probe',
      error: { kind: 'invalid_input', message: expect.stringContaining('for options.codec but received "av1"') },
    });
  });

  test('tells the user to use kind image for a still image', async () => {
    expect(await runJob('video', fixture('photo.png'), {})).toMatchObject({
      ok: false,
      error: { kind: 'no_video_stream', message: 'The input has no video stream; use kind "image" for still images.' },
    });
  });

  test('tells the user to use kind audio for an audio-only input', async () => {
    const result = await runJob('video', fixture('tone.wav'), {});
    expect(result).toMatchObject({
      ok: false,
      error: { kind: 'no_video_stream', message: 'The input has no video stream; use kind "audio" for audio-only files.' },
    });
  });
});

describe('h264Level', () => {
  test('picks the lowest level that fits the frame size and rate', () => {
    expect(h264Level(640, 360, 30)).toBe('3.0');
    expect(h264Level(1280, 720, 30)).toBe('3.1');
    expect(h264Level(1920, 1080, 30)).toBe('4.0');
    expect(h264Level(1920, 1080, 60)).toBe('4.2');
    expect(h264Level(3840, 2160, 30)).toBe('5.1');
  });
});
