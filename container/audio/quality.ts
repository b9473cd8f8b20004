/**
 * Audio quality tiers (docs/api.md#options): the README quality table's audio column. The bitrate of an
 * audio job, and of the AAC or Opus track of video and adaptive video outputs.
 */
import { DEFAULT_QUALITY, type Quality } from '../../schemas/options.ts';

/** Bits per second for lossy audio, per tier. */
export const AUDIO_BITRATES: Record<Quality, number> = {
  very_low: 64_000,
  low: 96_000,
  medium: 128_000,
  high: 160_000,
  very_high: 192_000,
};

/**
 * The audio bitrate for a job's tier (default medium).
 *
 * @example
 * audioBitrate('high'); // 160_000
 */
export function audioBitrate(quality: Quality | undefined): number {
  return AUDIO_BITRATES[quality ?? DEFAULT_QUALITY];
}
