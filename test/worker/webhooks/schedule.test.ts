import { describe, expect, it } from 'vitest';
import { WEBHOOK_FIRST_RETRY_MS, WEBHOOK_MAX_BACKOFF_MS, WEBHOOK_RETRY_WINDOW_MS } from '../../../worker/constants.ts';
import { nextWebhookAttempt, parseRetryAfter } from '../../../worker/webhooks/schedule.ts';

describe('webhook retry schedule', () => {
  it('retries for at least 24 hours with exponential, capped, jittered gaps', () => {
    for (const random of [() => 0, () => 0.5, () => 0.999]) {
      const firstAt = 0;
      let now = 0;
      let attempts = 0;
      const gaps: number[] = [];
      for (;;) {
        attempts += 1;
        const next = nextWebhookAttempt({ attempts, firstAt, now, retryAfterMs: null, random });
        if (next === null) break;
        gaps.push(next - now);
        now = next;
      }
      expect(gaps[0]).toBeLessThanOrEqual(WEBHOOK_FIRST_RETRY_MS);
      expect(gaps[0]).toBeGreaterThanOrEqual(WEBHOOK_FIRST_RETRY_MS / 2);
      expect(Math.max(...gaps)).toBeLessThanOrEqual(WEBHOOK_MAX_BACKOFF_MS);
      expect(now).toBeGreaterThanOrEqual(24 * 60 * 60_000);
      expect(now).toBeLessThanOrEqual(WEBHOOK_RETRY_WINDOW_MS);
    }
  });

  it('parses Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-24T12:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Tue, 24 Nov 2026 12:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});
