/**
 * Animation quality tiers (docs/api.md#options): the README quality table's animated WebP column, on
 * libwebp_anim's 0–100 scale. GIF has a fixed 256-colour palette, so it has no tier.
 */
import { DEFAULT_QUALITY, type Quality } from '../../schemas/options.ts';

/** libwebp_anim `-quality` per tier. */
export const ANIMATED_WEBP_QUALITIES: Record<Quality, number> = {
  very_low: 40,
  low: 55,
  medium: 70,
  high: 82,
  very_high: 90,
};

/**
 * The animated WebP quality for a job's tier (default medium).
 *
 * @example
 * animatedWebpQuality('high'); // 82
 */
export function animatedWebpQuality(quality: Quality | undefined): number {
  return ANIMATED_WEBP_QUALITIES[quality ?? DEFAULT_QUALITY];
}
