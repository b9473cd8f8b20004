/**
 * Image quality tiers (docs/api.md#options): the README quality table's JPEG / WebP / AVIF column, on sharp's
 * 1–100 scale per format. PNG is lossless, so it has no tier.
 */
import { DEFAULT_QUALITY, type Quality } from '../../schemas/options.ts';

export interface ImageQualityTier {
  jpeg: number;
  webp: number;
  avif: number;
}

export const IMAGE_QUALITY_TIERS: Record<Quality, ImageQualityTier> = {
  very_low: { jpeg: 50, webp: 45, avif: 35 },
  low: { jpeg: 65, webp: 60, avif: 45 },
  medium: { jpeg: 78, webp: 75, avif: 55 },
  high: { jpeg: 86, webp: 85, avif: 65 },
  very_high: { jpeg: 92, webp: 92, avif: 75 },
};

/**
 * The sharp quality per still format for a job's tier (default medium).
 *
 * @example
 * imageQuality('high').webp; // 85
 */
export function imageQuality(quality: Quality | undefined): ImageQualityTier {
  return IMAGE_QUALITY_TIERS[quality ?? DEFAULT_QUALITY];
}
