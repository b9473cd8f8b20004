import { WEBHOOK_FIRST_RETRY_MS, WEBHOOK_MAX_BACKOFF_MS, WEBHOOK_MAX_RETRY_AFTER_MS, WEBHOOK_RETRY_WINDOW_MS } from '../constants.ts';

/**
 * When to try a webhook again after `attempts` failures, or null once the retry window is spent.
 * Exponential backoff with "full jitter" over the upper half of each step, so the first retry
 * lands within WEBHOOK_FIRST_RETRY_MS and receivers coming back up are not stampeded.
 */
export function nextWebhookAttempt(opts: {
  attempts: number;
  firstAt: number;
  now: number;
  retryAfterMs: number | null;
  random?: () => number;
}): number | null {
  const random = opts.random ?? Math.random;
  const step = Math.min(WEBHOOK_FIRST_RETRY_MS * 2 ** Math.max(0, opts.attempts - 1), WEBHOOK_MAX_BACKOFF_MS);
  let delay = step / 2 + random() * (step / 2);
  if (opts.retryAfterMs !== null) delay = Math.max(delay, Math.min(opts.retryAfterMs, WEBHOOK_MAX_RETRY_AFTER_MS));
  const at = opts.now + Math.round(delay);
  return at - opts.firstAt > WEBHOOK_RETRY_WINDOW_MS ? null : at;
}

/** Parses a Retry-After header (delta seconds or HTTP date) into milliseconds from now. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
