import { afterAll, describe, expect, test } from 'vitest';
import { audioStream, cleanupWorkDirs, expectOk, probe, runJob, topLevelAtoms } from '../../support/inspect.ts';
import { fixture } from '../../support/media.ts';

afterAll(cleanupWorkDirs);

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

  test('reports no_audio_stream for an image', async () => {
    expect(await runJob('audio', fixture('photo.png'), {})).toMatchObject({ ok: false, error: { kind: 'no_audio_stream' } });
  });
});
