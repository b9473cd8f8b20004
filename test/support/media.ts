/**
 * Paths to the media fixtures that `media-setup.ts` generates once into `test/.media/`
 * (gitignored). Tests ask for a fixture by name so a typo fails typechecking.
 */
import { resolve } from 'node:path';

export const MEDIA_DIR = resolve(import.meta.dirname, '..', '.media');

export const FIXTURES = [
  'clip.mp4', // 2 s 640x360 h264 + aac, 30 fps
  'clip-1080p.mov', // 1 s 1920x1080 h264 + aac (e2e; one second keeps the e2e encodes cheap)
  'rotated.mov', // 640x360 coded, display matrix rotate 90 → shown 360x640
  'hevc10.mp4', // 1 s 320x180 HEVC main10
  'h264-444.mp4', // 1 s 320x180 h264 High 4:4:4
  'odd.mkv', // 1 s 321x241 h264 4:4:4 (odd dimensions)
  'vfr.mp4', // 2 s variable frame rate (30 fps then 10 fps)
  'no-audio.mp4', // 1 s 640x360 h264, no audio
  'hdr-pq.mp4', // 1 s 320x180 HEVC 10-bit, bt2020 + smpte2084
  'hdr-hlg.mp4', // 1 s 320x180 HEVC 10-bit, bt2020 + arib-std-b67
  'tone.wav', // 2 s 44.1 kHz mono sine
  'alpha.png', // 200x100 RGBA, left half transparent
  '16bit.png', // 64x48 16-bit RGB
  'cmyk.jpg', // 64x48 CMYK JPEG
  'orient-1.jpg',
  'orient-2.jpg',
  'orient-3.jpg',
  'orient-4.jpg',
  'orient-5.jpg',
  'orient-6.jpg',
  'orient-7.jpg',
  'orient-8.jpg', // all display as 60x40 with a red top-left corner once EXIF orientation is applied
  'gps.jpg', // 64x48 JPEG with GPS EXIF
  'photo.heic', // 320x240 HEIC (HEVC)
  'animated.gif', // 1 s 160x90 at 10 fps
  'truncated.mp4', // first 20 KB of a faststart mp4
  'empty.mp4', // 0 bytes
  'text.mp4', // plain text named .mp4
  'bomb.png', // PNG header claiming 50000x50000
  'photo.png', // 2000x1500 RGB (e2e)
  'drawing.svg', // 120x80 SVG
  'external.svg', // SVG that references an http image
] as const;
export type FixtureName = (typeof FIXTURES)[number];

/**
 * Absolute path of a generated fixture.
 *
 * @example
 * const input = fixture('clip.mp4');
 */
export function fixture(name: FixtureName): string {
  return resolve(MEDIA_DIR, name);
}
