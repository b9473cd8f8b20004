import { describe, expect, test } from 'vitest';
import { DEFAULT_LIMITS, InvalidLimitError, limitsFromEnv, MAX_PROCESSING_S_CAP } from '../../container/limits.ts';
import { PRESIGNED_URL_TTL_S } from '../../schemas/processor.ts';

describe('limitsFromEnv', () => {
  test('uses safe defaults when nothing is configured', () => {
    expect(limitsFromEnv({})).toEqual(DEFAULT_LIMITS);
    expect(DEFAULT_LIMITS.maxInputBytes).toBe(4 * 1024 ** 3);
    expect(DEFAULT_LIMITS.maxDurationS).toBe(4 * 3600);
  });

  test('reads each limit from its environment variable', () => {
    const limits = limitsFromEnv({
      KILN_MAX_INPUT_BYTES: '1000',
      KILN_MAX_DURATION_S: '60',
      KILN_MAX_PIXELS: '1000000',
      KILN_MAX_VIDEO_PIXELS: '2000000',
      KILN_MAX_PROCESSING_S: '30',
    });
    expect(limits).toEqual({
      maxInputBytes: 1000,
      maxDurationS: 60,
      maxImagePixels: 1_000_000,
      maxVideoPixels: 2_000_000,
      maxProcessingS: 30,
    });
  });

  test('refuses a malformed value instead of silently disabling the limit', () => {
    expect(() => limitsFromEnv({ KILN_MAX_INPUT_BYTES: 'lots' })).toThrow(
      'Expected a positive number for KILN_MAX_INPUT_BYTES but received "lots"',
    );
    expect(() => limitsFromEnv({ KILN_MAX_DURATION_S: '0' })).toThrow(/KILN_MAX_DURATION_S/);
    expect(() => limitsFromEnv({ KILN_MAX_PIXELS: '-1' })).toThrow(InvalidLimitError);
  });

  test('keeps the longest run inside the lifetime of the presigned URLs minted at its start', () => {
    expect(DEFAULT_LIMITS.maxProcessingS).toBeLessThanOrEqual(MAX_PROCESSING_S_CAP);
    expect(MAX_PROCESSING_S_CAP).toBeLessThan(PRESIGNED_URL_TTL_S);
    expect(limitsFromEnv({ KILN_MAX_PROCESSING_S: String(MAX_PROCESSING_S_CAP) }).maxProcessingS).toBe(MAX_PROCESSING_S_CAP);
    expect(() => limitsFromEnv({ KILN_MAX_PROCESSING_S: String(PRESIGNED_URL_TTL_S) })).toThrow(
      `Expected at most ${MAX_PROCESSING_S_CAP} for KILN_MAX_PROCESSING_S (presigned URLs expire after that) but received "${PRESIGNED_URL_TTL_S}"`,
    );
  });
});
