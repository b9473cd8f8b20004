import { execFileSync } from 'node:child_process';
import { constants, copyFile, mkdir, open, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { DEFAULT_LIMITS } from '../../../container/limits.ts';
import { MAX_SVG_BYTES, probeFile } from '../../../container/probe/index.ts';
import { svgEntityError } from '../../../schemas/errors.ts';
import { cleanupWorkDirs, workDir } from '../../support/inspect.ts';
import { type FixtureName, fixture } from '../../support/media.ts';

afterAll(cleanupWorkDirs);

const probe = (name: FixtureName, limits = DEFAULT_LIMITS) => probeFile(fixture(name), limits);

describe('probeFile on video', () => {
  test('describes an mp4 with h264 and aac', async () => {
    const result = await probe('clip.mp4');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.info).toMatchObject({
      kind: 'video',
      format: 'mp4',
      type: 'video/mp4',
      width: 640,
      height: 360,
      fps: 30,
      codecs: { video: 'h264', audio: 'aac' },
      has_audio: true,
      rotation: 0,
    });
    expect(result.info.duration).toBeCloseTo(2, 1);
    expect(result.info.filesize).toBeGreaterThan(0);
    expect(result.info.bitrate).toBeGreaterThan(0);
  });

  test('reports a phone video with a 90° display matrix at its displayed size', async () => {
    const result = await probe('rotated.mov');
    if (!result.ok) throw new Error(result.error.message);
    expect(result.info).toMatchObject({ format: 'mov', type: 'video/quicktime', width: 360, height: 640 });
    expect([90, 270]).toContain(result.info.rotation);
  });

  test('names HEVC, matroska and audio-only containers', async () => {
    const hevc = await probe('hevc10.mp4');
    const mkv = await probe('odd.mkv');
    const wav = await probe('tone.wav');
    expect(hevc.ok && hevc.info.codecs.video).toBe('hevc');
    expect(mkv.ok && [mkv.info.format, mkv.info.type, mkv.info.width, mkv.info.height]).toEqual(['mkv', 'video/x-matroska', 321, 241]);
    expect(wav.ok && wav.info).toMatchObject({
      kind: 'audio',
      format: 'wav',
      width: null,
      has_audio: true,
      codecs: { audio: 'pcm_s16le' },
    });
  });

  test('names PQ and HLG HDR, and keeps the transfer for the encoders; SDR video, audio and images are not HDR', async () => {
    const pq = await probe('hdr-pq.mp4');
    const hlg = await probe('hdr-hlg.mp4');
    expect(pq.ok && [pq.info.hdr, pq.details.video?.transfer]).toEqual(['pq', 'smpte2084']);
    expect(hlg.ok && [hlg.info.hdr, hlg.details.video?.transfer]).toEqual(['hlg', 'arib-std-b67']);
    for (const name of ['clip.mp4', 'hevc10.mp4', 'tone.wav', 'alpha.png'] as const) {
      const sdr = await probe(name);
      expect(sdr.ok && sdr.info.hdr, name).toBeNull();
    }
  });
});

describe('probeFile on images', () => {
  test('reports EXIF-rotated photos at their displayed size', async () => {
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const result = await probe(`orient-${n}.jpg` as FixtureName);
      expect(result.ok && [result.info.width, result.info.height]).toEqual([60, 40]);
    }
  });

  test('recognises HEIC, SVG, PNG with alpha and animated GIF', async () => {
    const heic = await probe('photo.heic');
    const svg = await probe('drawing.svg');
    const png = await probe('alpha.png');
    const gif = await probe('animated.gif');
    expect(heic.ok && heic.info).toMatchObject({ kind: 'image', format: 'heic', type: 'image/heic', width: 320, height: 240 });
    expect(svg.ok && svg.info).toMatchObject({ kind: 'image', format: 'svg', type: 'image/svg+xml', width: 120, height: 80 });
    expect(png.ok && png.details.image?.hasAlpha).toBe(true);
    expect(gif.ok && gif.info).toMatchObject({ kind: 'image', format: 'gif', width: 160, height: 90, duration: 1 });
  });
});

describe('probeFile finds SVG wherever its <svg> tag starts in the sniffed head', () => {
  const padded = (pad: string, prolog = '') =>
    `<?xml version="1.0"?>\n${pad}${prolog}<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80"><rect width="120" height="80" fill="red"/></svg>\n`;

  test.each([
    ['5 KiB of comment', padded(`<!--${'x'.repeat(5 * 1024)}-->\n`)],
    ['5 KiB of whitespace', `${' '.repeat(5 * 1024)}${padded('')}`],
    [
      'a doctype after 5 KiB of comment',
      padded(
        `<!--${'x'.repeat(5 * 1024)}-->\n`,
        '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n',
      ),
    ],
  ])('an SVG behind %s is an SVG image', async (_what, text) => {
    const path = join(await workDir(), 'input');
    await writeFile(path, text);
    const result = await probeFile(path, DEFAULT_LIMITS);
    expect(result.ok && result.info).toMatchObject({ kind: 'image', format: 'svg', type: 'image/svg+xml', width: 120, height: 80 });
  });

  test('an SVG over the SVG size limit is refused before it is read', async () => {
    const path = join(await workDir(), 'input');
    await writeFile(path, padded(''));
    await truncate(path, MAX_SVG_BYTES + 1024 ** 2);
    expect(await probeFile(path, DEFAULT_LIMITS)).toEqual({
      ok: false,
      error: { kind: 'input_too_large', message: 'The SVG is 65 MiB; the limit for SVG is 64 MiB.' },
    });
  });

  test('an entity declaration behind 5 KiB of comment is refused like any other', async () => {
    const path = join(await workDir(), 'input');
    await writeFile(path, padded(`<!--${'x'.repeat(5 * 1024)}-->\n`, '<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/hostname">]>\n'));
    expect(await probeFile(path, DEFAULT_LIMITS)).toEqual({ ok: false, error: svgEntityError() });
  });
});

describe('probeFile refuses bad inputs', () => {
  test('an empty file is not media', async () => {
    expect(await probe('empty.mp4')).toMatchObject({
      ok: false,
      error: { kind: 'input_not_media', message: expect.stringMatching(/empty/) },
    });
  });

  test('a truncated mp4 is not media, even though its header is intact', async () => {
    expect(await probe('truncated.mp4')).toMatchObject({
      ok: false,
      error: { kind: 'input_not_media', message: expect.stringMatching(/truncated/) },
    });
  });

  test('a text file named .mp4 is not media', async () => {
    expect(await probe('text.mp4')).toMatchObject({ ok: false, error: { kind: 'input_not_media' } });
  });

  test('a PNG claiming 50000×50000 is refused from its header as too many pixels', async () => {
    const result = await probe('bomb.png');
    expect(result).toMatchObject({ ok: false, error: { kind: 'too_many_pixels' } });
    if (!result.ok) expect(result.error.message).toContain('50000×50000');
  });

  test('a file over the byte limit is too large', async () => {
    const result = await probe('clip.mp4', { ...DEFAULT_LIMITS, maxInputBytes: 1000 });
    expect(result).toMatchObject({ ok: false, error: { kind: 'input_too_large' } });
  });

  test('a video over the duration limit is too long', async () => {
    const result = await probe('clip.mp4', { ...DEFAULT_LIMITS, maxDurationS: 1 });
    expect(result).toMatchObject({ ok: false, error: { kind: 'input_too_long' } });
  });

  test('a video frame over the pixel limit is refused', async () => {
    const result = await probe('clip-1080p.mov', { ...DEFAULT_LIMITS, maxVideoPixels: 1280 * 720 });
    expect(result).toMatchObject({ ok: false, error: { kind: 'too_many_pixels' } });
  });

  test('an image over the pixel limit is refused', async () => {
    const result = await probe('photo.png', { ...DEFAULT_LIMITS, maxImagePixels: 1_000_000 });
    expect(result).toMatchObject({ ok: false, error: { kind: 'too_many_pixels' } });
  });

  test('a missing file is reported, not thrown', async () => {
    const result = await probeFile('/nonexistent/kiln.mp4', DEFAULT_LIMITS);
    expect(result).toMatchObject({ ok: false, error: { kind: 'input_not_media' } });
  });
});

/**
 * A named pipe standing in for a private file outside the job folder. Opening it for reading
 * completes our pending open for writing, so `opened()` tells whether anything tried to read it,
 * without a timing assumption: a reader blocks on the pipe until our writer has seen it and closed.
 */
async function tripwire(path: string): Promise<{ opened: () => Promise<boolean> }> {
  execFileSync('mkfifo', [path]);
  let seen = false;
  const writer = open(path, 'w').then((handle) => {
    seen = true;
    return handle.close();
  });
  return {
    async opened() {
      const before = seen;
      const reader = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
      await writer;
      await reader.close();
      return before;
    },
  };
}

/**
 * A job folder with `input` written in it, and a private file (the tripwire) named `secret.ts`,
 * outside the job folder or beside the input.
 */
async function pointerInput(input: (secret: string) => string, where: 'outside' | 'beside' = 'outside') {
  const root = await workDir();
  const job = join(root, 'job');
  await mkdir(job);
  const secret = join(where === 'outside' ? root : job, 'secret.ts');
  const wire = await tripwire(secret);
  const path = join(job, 'input');
  await writeFile(path, input(secret));
  return { path, wire };
}

describe('probeFile refuses inputs that point at other files', () => {
  test('an HLS playlist naming a local .ts by absolute path is refused, and the .ts is never opened', async () => {
    const { path, wire } = await pointerInput(
      (secret) => `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n${secret}\n#EXT-X-ENDLIST\n`,
    );
    const result = await probeFile(path, DEFAULT_LIMITS);
    expect(await wire.opened()).toBe(false);
    expect(result).toEqual({
      ok: false,
      error: {
        kind: 'input_not_media',
        message:
          'The input is an HLS playlist (format "hls"), not a media file: Kiln reads single video, audio and image files, never playlists, manifests or lists that point at other files. Send the media file itself.',
      },
    });
  });

  test('an ffconcat list is refused, and the file it lists is never opened', async () => {
    // The concat demuxer's own safe mode allows a plain name next to the list: that is the one to try.
    const { path, wire } = await pointerInput(() => "ffconcat version 1.0\nfile 'secret.ts'\n", 'beside');
    const result = await probeFile(path, DEFAULT_LIMITS);
    expect(await wire.opened()).toBe(false);
    expect(result).toMatchObject({ ok: false, error: { kind: 'input_not_media' } });
    expect(!result.ok && result.error.message).toMatch(/^The input is an ffconcat file list \(format "concat"\), not a media file/);
  });

  test('a DASH manifest naming a local file is refused, and the file is never opened', async () => {
    const { path, wire } = await pointerInput(
      (secret) => `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" type="static" mediaPresentationDuration="PT1S" minBufferTime="PT1S">
  <Period><AdaptationSet mimeType="video/mp2t"><Representation id="v" bandwidth="100000"><BaseURL>${secret}</BaseURL></Representation></AdaptationSet></Period>
</MPD>
`,
    );
    const result = await probeFile(path, DEFAULT_LIMITS);
    expect(await wire.opened()).toBe(false);
    expect(result).toMatchObject({ ok: false, error: { kind: 'input_not_media' } });
    expect(!result.ok && result.error.message).toMatch(/^The input is a DASH manifest \(format "dash"\), not a media file/);
  });

  test('a media file ffprobe reads but Kiln does not accept is refused by its format name', async () => {
    const dir = await workDir();
    const path = join(dir, 'input');
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=duration=0.5', '-f', 'voc', path]);
    expect(await probeFile(path, DEFAULT_LIMITS)).toEqual({
      ok: false,
      error: {
        kind: 'input_not_media',
        message:
          'The input\'s format ("voc") is not one Kiln reads: send a single video, audio or image file (MP4, MOV, WebM, MKV, MP3, WAV, JPEG, PNG…).',
      },
    });
  });

  test('still reads every container the corpus holds once it is renamed to a bare `input`', async () => {
    const dir = await workDir();
    for (const name of ['clip.mp4', 'rotated.mov', 'odd.mkv', 'tone.wav'] as const) {
      const path = join(dir, 'input');
      await copyFile(fixture(name), path);
      const result = await probeFile(path, DEFAULT_LIMITS);
      expect(result.ok, name).toBe(true);
    }
  });
});
