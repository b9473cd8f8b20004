/**
 * Vitest globalSetup: generates the media fixtures once into `test/.media/` with ffmpeg (lavfi
 * sources), sharp and heif-enc. Existing files are kept, so only the first run pays for it,
 * unless their generator's source text changed since they were made (`generators.json` keeps a
 * digest per fixture): a fixture edited here is remade on the next run instead of a stale copy
 * failing tests that expect the new one. Each file is written to a temp name and renamed, so an
 * interrupted run never leaves a half fixture behind.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { FIXTURES, type FixtureName, fixture, MEDIA_DIR } from './media.ts';

const run = promisify(execFile);

/** Fixture generation runs two encoders at a time: the CI machines have two cores. */
const GENERATE_CONCURRENCY = 2;

const ff = (...args: string[]) => run('ffmpeg', ['-hide_banner', '-v', 'error', '-y', ...args]);
// biome-ignore format: ffmpeg arguments read as flag/value pairs
const lavfiVideo = (size: string, seconds: number, rate = 30) => [
  '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}:duration=${seconds}`,
];
const lavfiAudio = (seconds: number, rate = 48000) => ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${rate}:duration=${seconds}`];
const x264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];
const aac = ['-c:a', 'aac', '-b:a', '96k', '-ac', '2'];

/** The picture every orient-N.jpg shows once EXIF orientation is applied: 60x40, quadrants red/green/blue/white. */
const ORIENT_W = 60;
const ORIENT_H = 40;
function displayedPixel(x: number, y: number): [number, number, number] {
  const left = x < ORIENT_W / 2;
  const top = y < ORIENT_H / 2;
  if (top && left) return [255, 0, 0];
  if (top) return [0, 255, 0];
  if (left) return [0, 0, 255];
  return [255, 255, 255];
}
/** Where display pixel (x, y) lives in the stored image for EXIF orientation n (EXIF 2.32 §4.6.4). */
function storedCoord(n: number, x: number, y: number): [number, number] {
  const W = ORIENT_W;
  const H = ORIENT_H;
  switch (n) {
    case 2:
      return [W - 1 - x, y];
    case 3:
      return [W - 1 - x, H - 1 - y];
    case 4:
      return [x, H - 1 - y];
    case 5:
      return [y, x];
    case 6:
      return [y, W - 1 - x];
    case 7:
      return [H - 1 - y, W - 1 - x];
    case 8:
      return [H - 1 - y, x];
    default:
      return [x, y];
  }
}
async function orientedJpeg(n: number, out: string) {
  const sw = n <= 4 ? ORIENT_W : ORIENT_H;
  const sh = n <= 4 ? ORIENT_H : ORIENT_W;
  const raw = Buffer.alloc(sw * sh * 3);
  for (let y = 0; y < ORIENT_H; y++) {
    for (let x = 0; x < ORIENT_W; x++) {
      const [sx, sy] = storedCoord(n, x, y);
      raw.set(displayedPixel(x, y), (sy * sw + sx) * 3);
    }
  }
  await sharp(raw, { raw: { width: sw, height: sh, channels: 3 } })
    .jpeg({ quality: 95 })
    .withMetadata({ orientation: n })
    .toFile(out);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function pngChunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
/** A valid-looking PNG whose IHDR claims 50000x50000 with a tiny IDAT: decoding it would need 7.5 GB. */
function bombPng(): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(50_000, 0);
  ihdr.writeUInt32BE(50_000, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit, truecolour, deflate, adaptive filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(1024))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

const SVG_PLAIN = `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80"><rect width="120" height="80" fill="#336699"/><circle cx="60" cy="40" r="30" fill="#ffcc00"/></svg>`;
const SVG_EXTERNAL = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="120" height="80"><rect width="120" height="80" fill="#336699"/><image href="http://127.0.0.1:9/tracker.png" xlink:href="http://127.0.0.1:9/tracker.png" width="120" height="80"/></svg>`;

type Generator = (out: string, tmp: string) => Promise<unknown>;

const GENERATORS: Record<FixtureName, Generator> = {
  'clip.mp4': (out) => ff(...lavfiVideo('640x360', 2), ...lavfiAudio(2), ...x264, ...aac, '-f', 'mp4', out),
  'clip-1080p.mov': (out) => ff(...lavfiVideo('1920x1080', 1), ...lavfiAudio(1), ...x264, ...aac, '-f', 'mov', out),
  'rotated.mov': async (out, tmp) => {
    const src = `${tmp}.src.mov`;
    await ff(...lavfiVideo('640x360', 1), ...lavfiAudio(1), ...x264, ...aac, '-f', 'mov', src);
    // ffmpeg 5.1's mov muxer turns the `rotate` tag into the track's display matrix, like a phone does.
    await ff('-i', src, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', '-f', 'mov', out);
    await rm(src, { force: true });
  },
  // biome-ignore format: ffmpeg arguments read as flag/value pairs
  'hevc10.mp4': (out) =>
    ff(
      ...lavfiVideo('320x180', 1), '-c:v', 'libx265', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p10le',
      '-x265-params', 'log-level=error', '-tag:v', 'hvc1', '-f', 'mp4', out,
    ),
  'h264-444.mp4': (out) =>
    ff(...lavfiVideo('320x180', 1), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv444p', '-f', 'mp4', out),
  // biome-ignore format: ffmpeg arguments read as flag/value pairs
  'odd.mkv': (out) =>
    ff(
      ...lavfiVideo('320x240', 1), '-vf', 'scale=321:241',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv444p', '-f', 'matroska', out,
    ),
  // biome-ignore format: ffmpeg arguments read as flag/value pairs
  'vfr.mp4': (out) =>
    ff(
      ...lavfiVideo('320x180', 2), ...lavfiAudio(2), '-vf', "select='if(lt(n\\,30)\\,1\\,not(mod(n\\,3)))'",
      '-fps_mode', 'vfr', ...x264, ...aac, '-f', 'mp4', out,
    ),
  'no-audio.mp4': (out) => ff(...lavfiVideo('640x360', 1), ...x264, '-f', 'mp4', out),
  // biome-ignore format: ffmpeg arguments read as flag/value pairs
  'hdr-pq.mp4': (out) =>
    ff(
      ...lavfiVideo('320x180', 1), '-c:v', 'libx265', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p10le',
      '-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc',
      '-x265-params', 'log-level=error:hdr10=1:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc',
      '-tag:v', 'hvc1', '-f', 'mp4', out,
    ),
  // biome-ignore format: ffmpeg arguments read as flag/value pairs
  'hdr-hlg.mp4': (out) =>
    ff(
      ...lavfiVideo('320x180', 1), '-c:v', 'libx265', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p10le',
      '-color_primaries', 'bt2020', '-color_trc', 'arib-std-b67', '-colorspace', 'bt2020nc',
      '-x265-params', 'log-level=error:colorprim=bt2020:transfer=arib-std-b67:colormatrix=bt2020nc',
      '-tag:v', 'hvc1', '-f', 'mp4', out,
    ),
  'tone.wav': (out) => ff(...lavfiAudio(2, 44100), '-ac', '1', '-c:a', 'pcm_s16le', '-f', 'wav', out),
  'alpha.png': (out) => {
    const raw = Buffer.alloc(200 * 100 * 4);
    for (let y = 0; y < 100; y++) {
      for (let x = 0; x < 200; x++) raw.set([0, 128, 255, x < 100 ? 0 : 255], (y * 200 + x) * 4);
    }
    return sharp(raw, { raw: { width: 200, height: 100, channels: 4 } })
      .png()
      .toFile(out);
  },
  '16bit.png': (out) =>
    sharp({ create: { width: 64, height: 48, channels: 3, background: '#8040c0' } })
      .toColourspace('rgb16')
      .png()
      .toFile(out),
  'cmyk.jpg': (out) =>
    sharp({ create: { width: 64, height: 48, channels: 3, background: '#c03020' } })
      .toColourspace('cmyk')
      .jpeg({ quality: 90 })
      .toFile(out),
  'orient-1.jpg': (out) => orientedJpeg(1, out),
  'orient-2.jpg': (out) => orientedJpeg(2, out),
  'orient-3.jpg': (out) => orientedJpeg(3, out),
  'orient-4.jpg': (out) => orientedJpeg(4, out),
  'orient-5.jpg': (out) => orientedJpeg(5, out),
  'orient-6.jpg': (out) => orientedJpeg(6, out),
  'orient-7.jpg': (out) => orientedJpeg(7, out),
  'orient-8.jpg': (out) => orientedJpeg(8, out),
  'gps.jpg': (out) =>
    sharp({ create: { width: 64, height: 48, channels: 3, background: '#20a040' } })
      .jpeg({ quality: 90 })
      .withExif({
        IFD0: { Make: 'KilnTestCam', Model: 'GPS' },
        IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1', GPSLongitudeRef: 'W', GPSLongitude: '0/1 7/1 0/1' },
      })
      .toFile(out),
  'photo.heic': async (out, tmp) => {
    const src = `${tmp}.png`;
    await ff(...lavfiVideo('320x240', 1), '-frames:v', '1', src);
    await run('heif-enc', ['-q', '60', src, '-o', out]);
    await rm(src, { force: true });
  },
  'animated.gif': (out) => ff(...lavfiVideo('160x90', 1, 10), '-f', 'gif', out),
  'truncated.mp4': async (out, tmp) => {
    const src = `${tmp}.src.mp4`;
    await ff(...lavfiVideo('640x360', 2), ...lavfiAudio(2), ...x264, ...aac, '-movflags', '+faststart', '-f', 'mp4', src);
    const head = (await readFile(src)).subarray(0, 20 * 1024);
    await writeFile(out, head);
    await rm(src, { force: true });
  },
  'empty.mp4': (out) => writeFile(out, ''),
  'text.mp4': (out) => writeFile(out, 'This is not a video.\nJust some text that happens to be named .mp4.\n'.repeat(20)),
  'bomb.png': (out) => writeFile(out, bombPng()),
  'photo.png': (out) => ff('-f', 'lavfi', '-i', 'testsrc2=size=2000x1500:rate=1', '-frames:v', '1', '-f', 'image2', '-c:v', 'png', out),
  'drawing.svg': (out) => writeFile(out, SVG_PLAIN),
  'external.svg': (out) => writeFile(out, SVG_EXTERNAL),
};

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Which generator made each fixture on disk: a digest of its source text. */
const MANIFEST = join(MEDIA_DIR, 'generators.json');
type Manifest = Partial<Record<FixtureName, string>>;

const generatorDigest = (name: FixtureName) => createHash('sha256').update(GENERATORS[name].toString()).digest('hex').slice(0, 16);

async function readManifest(): Promise<Manifest> {
  try {
    return JSON.parse(await readFile(MANIFEST, 'utf8')) as Manifest;
  } catch {
    return {};
  }
}

async function generate(name: FixtureName, made: Manifest): Promise<void> {
  const out = fixture(name);
  const digest = generatorDigest(name);
  if (made[name] === digest && (await exists(out))) return;
  const ext = name.slice(name.lastIndexOf('.'));
  const tmp = `${out}.partial${ext}`;
  try {
    await GENERATORS[name](tmp, `${out}.tmp`);
    await rename(tmp, out);
    made[name] = digest;
  } catch (err) {
    await rm(tmp, { force: true });
    throw new Error(`Could not generate fixture ${name}: ${(err as Error).message}`, { cause: err });
  }
}

/** Generates every missing or outdated fixture. Safe to run concurrently with nothing else. */
export async function generateFixtures(): Promise<void> {
  await mkdir(MEDIA_DIR, { recursive: true });
  const made = await readManifest();
  const queue = [...FIXTURES];
  const workers = Array.from({ length: GENERATE_CONCURRENCY }, async () => {
    for (let name = queue.shift(); name; name = queue.shift()) await generate(name, made);
  });
  try {
    await Promise.all(workers);
  } finally {
    await writeFile(`${MANIFEST}.tmp`, JSON.stringify(made, null, 2));
    await rename(`${MANIFEST}.tmp`, MANIFEST);
  }
}

export async function setup(): Promise<void> {
  await generateFixtures();
}
