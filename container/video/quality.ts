/**
 * Video quality tiers (docs/api.md#options): the codec columns of the README's quality table. Each
 * kind keeps its own tiers next to its encoder (audio, image and animation have theirs), because a
 * tier is calibrated against that encoder's scale and a change to one encoder should touch one
 * folder. CRF values follow each encoder's own scale (x264/x265 0–51, libvpx-vp9 0–63, SVT-AV1
 * 0–63) and sit at roughly the same perceived quality per tier; presets are chosen so a 1080p clip
 * encodes at or above real time on two cores.
 */
import { DEFAULT_QUALITY, type Quality } from '../../schemas/options.ts';

export interface VideoQualityTier {
  /** libx264 `-crf` and `-preset`. */
  h264: { crf: number; preset: string };
  /** libx265 `-crf` and `-preset`. */
  h265: { crf: number; preset: string };
  /** libvpx-vp9 `-crf` (with `-b:v 0`) and `-cpu-used`. */
  vp9: { crf: number; cpuUsed: number };
  /** libsvtav1 `-crf` and `-preset` (0 slowest – 13 fastest). */
  av1: { crf: number; preset: number };
}

export const VIDEO_QUALITY_TIERS: Record<Quality, VideoQualityTier> = {
  very_low: {
    h264: { crf: 30, preset: 'veryfast' },
    h265: { crf: 32, preset: 'veryfast' },
    vp9: { crf: 45, cpuUsed: 5 },
    av1: { crf: 46, preset: 10 },
  },
  low: {
    h264: { crf: 26, preset: 'veryfast' },
    h265: { crf: 29, preset: 'veryfast' },
    vp9: { crf: 38, cpuUsed: 5 },
    av1: { crf: 40, preset: 10 },
  },
  medium: {
    h264: { crf: 23, preset: 'faster' },
    h265: { crf: 26, preset: 'faster' },
    vp9: { crf: 33, cpuUsed: 4 },
    av1: { crf: 35, preset: 9 },
  },
  high: {
    h264: { crf: 22, preset: 'medium' },
    h265: { crf: 23, preset: 'medium' },
    vp9: { crf: 28, cpuUsed: 3 },
    av1: { crf: 30, preset: 8 },
  },
  very_high: {
    h264: { crf: 18, preset: 'medium' },
    h265: { crf: 20, preset: 'medium' },
    vp9: { crf: 24, cpuUsed: 2 },
    av1: { crf: 25, preset: 7 },
  },
};

/**
 * The video encoder settings for a job's tier (default medium); adaptive video uses its h264 row.
 *
 * @example
 * videoQuality('high').h264.crf; // 22
 */
export function videoQuality(quality: Quality | undefined): VideoQualityTier {
  return VIDEO_QUALITY_TIERS[quality ?? DEFAULT_QUALITY];
}
