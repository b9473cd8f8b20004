/**
 * The seed's three outputs (HD MP4, WebP thumbnail at 2 s, 480p preview) as the bare ffmpeg
 * commands a user would script: the x264/AAC/WebP settings Kiln's tiers use, with nothing else.
 * bench/pipeline.ts and bench/group.ts time Kiln against them.
 */
import { AUDIO_BITRATES } from '../container/audio/quality.ts';
import { IMAGE_QUALITY_TIERS } from '../container/image/quality.ts';
import { VIDEO_QUALITY_TIERS } from '../container/video/quality.ts';

export function seedBareCommands(clip: string): Record<'hd' | 'thumb' | 'preview', (out: string) => string[]> {
  const high = VIDEO_QUALITY_TIERS.high;
  const low = VIDEO_QUALITY_TIERS.low;
  // biome-ignore format: ffmpeg arguments read as flag/value pairs
  return {
    hd: (out: string) => [
      '-v', 'error', '-y', '-i', clip, '-vf', 'scale=1920:-2',
      '-c:v', 'libx264', '-preset', high.h264.preset, '-crf', String(high.h264.crf), '-profile:v', 'high', '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', '-b:a', String(AUDIO_BITRATES.high), '-ac', '2', '-ar', '48000', '-movflags', '+faststart', out,
    ],
    thumb: (out: string) => [
      '-v', 'error', '-y', '-ss', '2', '-i', clip, '-frames:v', '1', '-vf', 'scale=640:-2',
      '-c:v', 'libwebp', '-quality', String(IMAGE_QUALITY_TIERS.medium.webp), out,
    ],
    preview: (out: string) => [
      '-v', 'error', '-y', '-i', clip, '-vf', 'scale=480:-2',
      '-c:v', 'libx264', '-preset', low.h264.preset, '-crf', String(low.h264.crf), '-profile:v', 'high', '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', '-b:a', String(AUDIO_BITRATES.low), '-ac', '2', '-ar', '48000', '-movflags', '+faststart', out,
    ],
  };
}
