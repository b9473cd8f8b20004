import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { audioStream, cleanupWorkDirs, expectOk, probe, runJob, topLevelAtoms, workDir } from '../../support/inspect.ts';
import { fixture } from '../../support/media.ts';

const run = promisify(execFile);

afterAll(cleanupWorkDirs);

/** Integrated loudness of a file in LUFS, as ffmpeg's EBU R128 meter (ebur128) measures it. */
async function integratedLufs(path: string): Promise<number> {
  const { stderr } = await run('ffmpeg', ['-hide_banner', '-nostats', '-i', path, '-af', 'ebur128', '-f', 'null', '-']);
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'));
  const match = /I:\s+(-?[\d.]+|-inf) LUFS/.exec(summary);
  if (!match?.[1]) throw new Error(`no integrated loudness in ${stderr.slice(-500)}`);
  return Number(match[1]);
}

describe('audio', () => {
  test('makes mp3 by default from a video', async () => {
    const result = expectOk(await runJob('audio', fixture('clip.mp4'), {}));
    expect(result.output.info).toMatchObject({ kind: 'audio', format: 'mp3', type: 'audio/mpeg', codecs: { audio: 'mp3' }, width: null });
    expect(result.output.info.duration).toBeCloseTo(2, 0);
    expect(await probe(result.output.path).then((d) => d.streams?.length)).toBe(1);
  });

  test('makes AAC-LC in m4a with the moov atom first', async () => {
    const result = expectOk(await runJob('audio', fixture('tone.wav'), { format: 'aac', bitrate: 96_000 }));
    expect(result.output.info).toMatchObject({ format: 'm4a', type: 'audio/mp4', codecs: { audio: 'aac' } });
    expect(await audioStream(result.output.path)).toMatchObject({ profile: 'LC' });
    const atoms = await topLevelAtoms(result.output.path);
    expect(atoms.indexOf('moov')).toBeLessThan(atoms.indexOf('mdat'));
  });

  test.each([
    ['ogg', { format: 'ogg', type: 'audio/ogg', codecs: { audio: 'vorbis' } }],
    ['opus', { format: 'opus', type: 'audio/ogg', codecs: { audio: 'opus' } }],
    ['wav', { format: 'wav', type: 'audio/wav', codecs: { audio: 'pcm_s16le' } }],
    ['flac', { format: 'flac', type: 'audio/flac', codecs: { audio: 'flac' } }],
  ] as const)('makes %s', async (format, expected) => {
    const result = expectOk(await runJob('audio', fixture('tone.wav'), { format }));
    expect(result.output.info).toMatchObject(expected);
  });

  test('opus is always 48 kHz', async () => {
    const result = expectOk(await runJob('audio', fixture('tone.wav'), { format: 'opus' }));
    expect((await audioStream(result.output.path))?.sample_rate).toBe('48000');
  });

  test('cuts from start to end', async () => {
    const result = expectOk(await runJob('audio', fixture('tone.wav'), { start: 0.5, end: 1.5, format: 'wav' }));
    expect(result.output.info.duration).toBeCloseTo(1, 1);
  });

  test('notes that bitrate does not apply to lossless formats', async () => {
    const result = expectOk(await runJob('audio', fixture('tone.wav'), { format: 'flac', bitrate: 128_000 }));
    expect(result.notes).toContain('bitrate is ignored for lossless flac.');
  });

  test('reports no_audio_stream for a silent video', async () => {
    expect(await runJob('audio', fixture('no-audio.mp4'), {})).toMatchObject({
      ok: false,
      stage: 'encode',
      error: { kind: 'no_audio_stream' },
    });
  });

  test('refuses waveform before touching the input, with the same sentence as the API', async () => {
    expect(await runJob('audio', fixture('tone.wav'), { waveform: 'json' })).toEqual({
      ok: false,
      stage: 'probe',
      error: {
        kind: 'invalid_input',
        message:
          'options.waveform is not supported by Kiln; a job writes one audio file and Kiln makes no waveform data: remove waveform and waveform_points, and compute peaks from the audio output in your player.',
      },
    });
  });

  test('reports no_audio_stream for an image', async () => {
    expect(await runJob('audio', fixture('photo.png'), {})).toMatchObject({ ok: false, error: { kind: 'no_audio_stream' } });
  });
});

describe('audio normalize: "lufs"', () => {
  let quiet: string;
  let silence: string;
  beforeAll(async () => {
    const dir = await workDir();
    quiet = join(dir, 'quiet.wav');
    silence = join(dir, 'silence.wav');
    // A 440 Hz tone 30 dB down: about -52 LUFS, far below any target.
    // biome-ignore format: ffmpeg arguments read as flag/value pairs
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=4', '-af', 'volume=-30dB', '-ac', '1', quiet]);
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'anullsrc=r=48000:cl=mono', '-t', '2', silence]);
  });

  test('the quiet tone is quiet before', async () => {
    expect(await integratedLufs(quiet)).toBeLessThan(-40);
  });

  test("normalises to -16 LUFS by default (the guide's body)", async () => {
    const result = expectOk(await runJob('audio', quiet, { format: 'mp3', normalize: 'lufs', target_lufs: -16 }));
    expect(Math.abs((await integratedLufs(result.output.path)) + 16)).toBeLessThanOrEqual(1.5);
    expect(result.notes.join(' ')).toMatch(/Loudness normalised from -5\d\.\d+ to -16 LUFS/);
    const defaulted = expectOk(await runJob('audio', quiet, { format: 'aac', normalize: 'lufs' }));
    expect(Math.abs((await integratedLufs(defaulted.output.path)) + 16)).toBeLessThanOrEqual(1.5);
  });

  test.each([-14, -23])('normalises to target_lufs %d', async (target) => {
    const result = expectOk(await runJob('audio', quiet, { format: 'flac', normalize: 'lufs', target_lufs: target }));
    expect(Math.abs((await integratedLufs(result.output.path)) - target)).toBeLessThanOrEqual(1.5);
  });

  test('normalises only the part between start and end', async () => {
    const result = expectOk(await runJob('audio', quiet, { format: 'wav', normalize: 'lufs', start: 1, end: 3 }));
    expect(result.output.info.duration).toBeCloseTo(2, 1);
    expect(Math.abs((await integratedLufs(result.output.path)) + 16)).toBeLessThanOrEqual(1.5);
  });

  test('silence, which has no loudness to measure, still encodes and says so', async () => {
    const result = expectOk(await runJob('audio', silence, { normalize: 'lufs' }));
    expect(result.output.info).toMatchObject({ format: 'mp3' });
    expect(result.notes).toContain("The input's loudness could not be measured (silence?); normalised to -16 LUFS in one pass.");
  });
});
