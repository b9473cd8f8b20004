import { describe, expect, test } from 'vitest';
import { DEFAULT_LIMITS, InvalidLimitError, limitsFromEnv } from '../../container/limits.ts';

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
      KILN_MIN_INPUT_BYTES_PER_S: '1024',
      KILN_INPUT_RATE_WINDOW_S: '20',
      KILN_INPUT_DEADLINE_S: '120',
      KILN_INPUT_DEADLINE_BYTES_PER_S: '1048576',
    });
    expect(limits).toEqual({
      maxInputBytes: 1000,
      maxDurationS: 60,
      maxImagePixels: 1_000_000,
      maxVideoPixels: 2_000_000,
      maxProcessingS: 30,
      minInputBytesPerS: 1024,
      inputRateWindowS: 20,
      inputDeadlineS: 120,
      inputDeadlineBytesPerS: 1_048_576,
    });
  });

  test('refuses a malformed value instead of silently disabling the limit', () => {
    expect(() => limitsFromEnv({ KILN_MAX_INPUT_BYTES: 'lots' })).toThrow(
      'Expected a positive number for KILN_MAX_INPUT_BYTES but received "lots"',
    );
    expect(() => limitsFromEnv({ KILN_MAX_DURATION_S: '0' })).toThrow(/KILN_MAX_DURATION_S/);
    expect(() => limitsFromEnv({ KILN_MAX_PIXELS: '-1' })).toThrow(InvalidLimitError);
  });
});
