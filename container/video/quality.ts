/**
 * Quality tiers (docs/api.md#options): the one table the README publishes. CRF values follow each
 * encoder's own scale (x264/x265 0–51, libvpx-vp9 0–63, SVT-AV1 0–63) and sit at roughly the
 * same perceived quality per tier; presets are chosen so a 1080p clip encodes at or above real
 * time on two cores. Image qualities are the encoder's 1–100 scale.
 */
import type { Quality } from '../../schemas/options.ts';

export interface QualityTier {
  /** libx264 `-crf` and `-preset`. */
  h264: { crf: number; preset: string };
  /** libx265 `-crf` and `-preset`. */
  h265: { crf: number; preset: string };
  /** libvpx-vp9 `-crf` (with `-b:v 0`) and `-cpu-used`. */
  vp9: { crf: number; cpuUsed: number };
  /** libsvtav1 `-crf` and `-preset` (0 slowest – 13 fastest). */
  av1: { crf: number; preset: number };
  /** AAC / Opus audio bitrate for video outputs, and the default for audio jobs. */
  audioBitrate: number;
  /** sharp quality per still format. */
  image: { jpeg: number; webp: number; avif: number };
  /** Animated WebP quality. */
  animationWebp: number;
}

export const QUALITY_TIERS: Record<Quality, QualityTier> = {
  very_low: {
    h264: { crf: 30, preset: 'veryfast' },
    h265: { crf: 32, preset: 'veryfast' },
    vp9: { crf: 45, cpuUsed: 5 },
    av1: { crf: 46, preset: 10 },
    audioBitrate: 64_000,
    image: { jpeg: 50, webp: 45, avif: 35 },
    animationWebp: 40,
  },
  low: {
    h264: { crf: 26, preset: 'veryfast' },
    h265: { crf: 29, preset: 'veryfast' },
    vp9: { crf: 38, cpuUsed: 5 },
    av1: { crf: 40, preset: 10 },
    audioBitrate: 96_000,
    image: { jpeg: 65, webp: 60, avif: 45 },
    animationWebp: 55,
  },
  medium: {
    h264: { crf: 23, preset: 'faster' },
    h265: { crf: 26, preset: 'faster' },
    vp9: { crf: 33, cpuUsed: 4 },
    av1: { crf: 35, preset: 9 },
    audioBitrate: 128_000,
    image: { jpeg: 78, webp: 75, avif: 55 },
    animationWebp: 70,
  },
  high: {
    h264: { crf: 22, preset: 'medium' },
    h265: { crf: 23, preset: 'medium' },
    vp9: { crf: 28, cpuUsed: 3 },
    av1: { crf: 30, preset: 8 },
    audioBitrate: 160_000,
    image: { jpeg: 86, webp: 85, avif: 65 },
    animationWebp: 82,
  },
  very_high: {
    h264: { crf: 18, preset: 'medium' },
    h265: { crf: 20, preset: 'medium' },
    vp9: { crf: 24, cpuUsed: 2 },
    av1: { crf: 25, preset: 7 },
    audioBitrate: 192_000,
    image: { jpeg: 92, webp: 92, avif: 75 },
    animationWebp: 90,
  },
};

/**
 * The tier for a job, defaulting to `medium`.
 *
 * @example
 * qualityTier('high').h264.crf; // 22
 */
export function qualityTier(quality: Quality | undefined): QualityTier {
  return QUALITY_TIERS[quality ?? 'medium'];
}
