import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ANIMATED_WEBP_QUALITIES } from '../../container/animation/quality.ts';
import { AUDIO_BITRATES } from '../../container/audio/quality.ts';
import { IMAGE_QUALITY_TIERS } from '../../container/image/quality.ts';
import { VIDEO_QUALITY_TIERS } from '../../container/video/quality.ts';
import { Quality } from '../../schemas/options.ts';

/** The README publishes one table; each kind's column comes from that kind's own tier module. */
describe('quality tiers', () => {
  test("the README's table shows exactly the tiers the encoders use", async () => {
    const readme = await readFile(resolve(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    for (const tier of Quality.options) {
      const video = VIDEO_QUALITY_TIERS[tier];
      const image = IMAGE_QUALITY_TIERS[tier];
      const row = [
        tier,
        `${video.h264.crf} / ${video.h264.preset}`,
        `${video.h265.crf} / ${video.h265.preset}`,
        `${video.vp9.crf} / ${video.vp9.cpuUsed}`,
        `${video.av1.crf} / ${video.av1.preset}`,
        `${AUDIO_BITRATES[tier] / 1000} kb/s`,
        `${image.jpeg} / ${image.webp} / ${image.avif}`,
        `${ANIMATED_WEBP_QUALITIES[tier]}`,
      ];
      expect(readme).toContain(`| ${row.join(' | ')} |`);
    }
  });
});
