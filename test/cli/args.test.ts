import { describe, expect, test } from 'vitest';
import { formatFromOutput, parseCli } from '../../cli/args.ts';

describe('--format from the -o extension', () => {
  test.each([
    ['video', { 'a.mp4': 'mp4', 'a.m4v': 'mp4', 'a.MOV': 'mov', 'a.webm': 'webm' }],
    ['image', { 'a.jpg': 'jpeg', 'a.jpeg': 'jpeg', 'a.png': 'png', 'a.webp': 'webp', 'a.avif': 'avif' }],
    [
      'audio',
      {
        'a.mp3': 'mp3',
        'a.m4a': 'aac',
        'a.aac': 'aac',
        'a.ogg': 'ogg',
        'a.oga': 'ogg',
        'a.opus': 'opus',
        'a.wav': 'wav',
        'a.flac': 'flac',
      },
    ],
    ['animation', { 'a.gif': 'gif', 'a.webp': 'webp' }],
  ] as const)('knows every %s extension and alias', (kind, expected) => {
    for (const [output, format] of Object.entries(expected)) expect(formatFromOutput(kind, output), output).toBe(format);
  });

  test('says nothing for an extension of another kind or none at all', () => {
    expect(formatFromOutput('image', 'a.gif')).toBeUndefined();
    expect(formatFromOutput('video', 'out')).toBeUndefined();
  });

  test('an explicit --format wins over the extension', () => {
    expect(parseCli(['image', '-i', 'a.png', '-o', 'b.jpg', '--format', 'png']).options.format).toBe('png');
    expect(parseCli(['audio', '-i', 'a.wav', '-o', 'b.m4a']).options.format).toBe('aac');
  });
});

describe('audio loudness flags (Ittybit normalize-audio-levels guide)', () => {
  test('--normalize lufs --target_lufs -16 become the normalize and target_lufs options', () => {
    expect(parseCli(['audio', '-i', 'episode.wav', '-o', 'episode.mp3', '--normalize', 'lufs', '--target_lufs', '-16']).options).toEqual({
      format: 'mp3',
      normalize: 'lufs',
      target_lufs: -16,
    });
  });

  test('--waveform is passed on, so the answer says why Kiln refuses it rather than "unknown option"', () => {
    expect(parseCli(['audio', '-i', 'a.wav', '-o', 'a.mp3', '--waveform', 'json', '--waveform_points', '200']).options).toMatchObject({
      waveform: 'json',
      waveform_points: 200,
    });
  });
});
