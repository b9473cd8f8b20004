import { describe, expect, test } from 'vitest';
import { containerFormat, imageFormat, typeOfExtension } from '../../../container/probe/mime.ts';
import { mimeFor } from '../../../schemas/formats.ts';

describe('MIME types of inputs and outputs', () => {
  test("types every extension the CLI's own upload table knew exactly as that table did", () => {
    const before = {
      mov: 'video/quicktime',
      mp4: 'video/mp4',
      m4v: 'video/mp4',
      webm: 'video/webm',
      mkv: 'video/x-matroska',
      png: 'image/png',
      jpg: 'image/jpeg',
      jpeg: 'image/jpeg',
      heic: 'image/heic',
      webp: 'image/webp',
      gif: 'image/gif',
      mp3: 'audio/mpeg',
      wav: 'audio/wav',
      m4a: 'audio/mp4',
    };
    for (const [extension, type] of Object.entries(before)) expect(typeOfExtension(extension), extension).toBe(type);
  });

  test('types a raw .aac input as ADTS, not as the M4A the aac output format writes', () => {
    expect(typeOfExtension('aac')).toBe('audio/aac');
    expect(typeOfExtension('xyz')).toBeUndefined();
  });

  test('reports each output container with the type of the output table', () => {
    expect(containerFormat('mov,mp4,m4a,3gp,3g2,mj2', 'isom', { video: 'h264', audio: 'aac' })).toEqual({
      format: 'mp4',
      type: mimeFor('video', 'mp4'),
    });
    expect(containerFormat('mov,mp4,m4a,3gp,3g2,mj2', 'qt  ', { video: 'h264' })).toEqual({ format: 'mov', type: mimeFor('video', 'mov') });
    expect(containerFormat('mov,mp4,m4a,3gp,3g2,mj2', 'M4A ', { audio: 'aac' })).toEqual({ format: 'm4a', type: mimeFor('audio', 'aac') });
    expect(containerFormat('matroska,webm', undefined, { video: 'vp9', audio: 'opus' })).toEqual({ format: 'webm', type: 'video/webm' });
    expect(containerFormat('ogg', undefined, { audio: 'opus' })).toEqual({ format: 'ogg', type: mimeFor('audio', 'opus') });
    expect(containerFormat('hls', undefined, { video: 'h264' })).toEqual({ format: 'hls', type: mimeFor('adaptive_video', 'hls') });
    expect(imageFormat('jpeg')).toEqual({ format: 'jpeg', type: 'image/jpeg' });
  });

  test('names formats Kiln only reads', () => {
    expect(containerFormat('matroska,webm', undefined, { video: 'h264', audio: 'aac' })).toEqual({
      format: 'mkv',
      type: 'video/x-matroska',
    });
    expect(containerFormat('matroska,webm', undefined, { audio: 'aac' })).toEqual({ format: 'mka', type: 'audio/x-matroska' });
    expect(containerFormat('matroska,webm', undefined, { audio: 'opus' })).toEqual({ format: 'webm', type: 'audio/webm' });
    expect(containerFormat('ogg', undefined, { video: 'theora' })).toEqual({ format: 'ogv', type: 'video/ogg' });
    expect(containerFormat('mpegts', undefined, { video: 'h264' })).toEqual({ format: 'ts', type: 'video/mp2t' });
    expect(containerFormat('asf', undefined, { video: 'wmv2' })).toEqual({ format: 'wmv', type: 'video/x-ms-asf' });
    expect(containerFormat('nut', undefined, { audio: 'pcm_s16le' })).toEqual({ format: 'nut', type: 'audio/octet-stream' });
    expect(imageFormat('svg')).toEqual({ format: 'svg', type: 'image/svg+xml' });
  });
});
