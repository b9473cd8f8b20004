import { describe, expect, test } from 'vitest';
import {
  defaultFormat,
  extensionFor,
  folderFileType,
  folderFileTypeOf,
  formatForExtension,
  formatNamed,
  formatNames,
  formatOptionNames,
  isFolderFormat,
  mimeFor,
  typeForExtension,
} from '../../schemas/formats.ts';
import { JobKind, OptionsByKind } from '../../schemas/options.ts';

describe('output formats', () => {
  test('the options schemas accept exactly the formats of the table', () => {
    for (const kind of JobKind.options) {
      for (const format of formatNames(kind)) expect(OptionsByKind[kind].safeParse({ format, end: 1 }).success).toBe(true);
      expect(OptionsByKind[kind].safeParse({ format: 'xyz', end: 1 }).success).toBe(false);
    }
  });

  test('the format option also takes jpg, and the job is left with jpeg', () => {
    expect(formatOptionNames('image')).toEqual(['jpeg', 'png', 'webp', 'avif', 'jpg']);
    expect(formatNamed('image', 'jpg')).toBe('jpeg');
    expect(formatNamed('image', 'png')).toBe('png');
    expect(formatNamed('image', 'gif')).toBeUndefined();
    expect(OptionsByKind.image.parse({ format: 'jpg' })).toEqual({ format: 'jpeg' });
  });

  test('every kind but image has a default among its formats; image keeps the input format', () => {
    expect(JobKind.options.map((kind) => [kind, defaultFormat(kind)])).toEqual([
      ['video', 'mp4'],
      ['image', null],
      ['audio', 'mp3'],
      ['animation', 'gif'],
      ['adaptive_video', 'hls'],
    ]);
    for (const kind of JobKind.options) {
      const format = defaultFormat(kind);
      if (format !== null) expect(formatNames(kind)).toContain(format);
    }
  });

  test('names files by extension, which differs from the format for jpeg, aac and hls', () => {
    expect(extensionFor('image', 'jpeg')).toBe('jpg');
    expect(extensionFor('audio', 'aac')).toBe('m4a');
    expect(extensionFor('adaptive_video', 'hls')).toBe('m3u8');
    expect(extensionFor('video', 'mov')).toBe('mov');
  });

  test('labels outputs with the MIME type players expect', () => {
    expect(mimeFor('video', 'mov')).toBe('video/quicktime');
    expect(mimeFor('audio', 'mp3')).toBe('audio/mpeg');
    expect(mimeFor('audio', 'aac')).toBe('audio/mp4');
    expect(mimeFor('audio', 'opus')).toBe('audio/ogg');
    expect(mimeFor('adaptive_video', 'hls')).toBe('application/vnd.apple.mpegurl');
  });

  test('throws on a format that was never validated', () => {
    expect(() => extensionFor('video', 'gif')).toThrow('No output format gif for kind video');
  });

  test('only HLS is a folder of files', () => {
    const folders = JobKind.options.flatMap((kind) =>
      formatNames(kind)
        .filter((f) => isFolderFormat(kind, f))
        .map((f) => `${kind}/${f}`),
    );
    expect(folders).toEqual(['adaptive_video/hls']);
  });

  test('reads a format back from its extension or an alias', () => {
    for (const kind of JobKind.options) {
      for (const format of formatNames(kind)) expect(formatForExtension(kind, extensionFor(kind, format))).toBe(format);
    }
    expect(formatForExtension('video', 'm4v')).toBe('mp4');
    expect(formatForExtension('image', 'jpeg')).toBe('jpeg');
    expect(formatForExtension('audio', 'aac')).toBe('aac');
    expect(formatForExtension('audio', 'oga')).toBe('ogg');
    expect(formatForExtension('animation', 'webp')).toBe('webp');
    expect(formatForExtension('video', '')).toBeUndefined();
    expect(formatForExtension('image', 'gif')).toBeUndefined();
  });

  test('gives the MIME type of any output extension', () => {
    expect(typeForExtension('m4a')).toBe('audio/mp4');
    expect(typeForExtension('jpeg')).toBe('image/jpeg');
    expect(typeForExtension('webp')).toBe('image/webp');
    expect(typeForExtension('mkv')).toBeUndefined();
  });

  test('types the playlists and segments of an HLS folder', () => {
    expect(folderFileType('m3u8')).toBe('application/vnd.apple.mpegurl');
    expect(folderFileType('ts')).toBe('video/mp2t');
    expect(folderFileType('mov')).toBeUndefined();
    expect(folderFileTypeOf('720p/seg_001.ts')).toBe('video/mp2t');
    expect(folderFileTypeOf('master.m3u8')).toBe('application/vnd.apple.mpegurl');
    expect(folderFileTypeOf('720p.d/readme')).toBe('application/octet-stream');
  });
});
