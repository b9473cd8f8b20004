import { WEBHOOK_TIMEOUT_MS } from '../constants.ts';
import { parseRetryAfter } from './schedule.ts';
import { signWebhook } from './sign.ts';

export interface WebhookAttempt {
  ok: boolean;
  status: number | null;
  error: string | null;
  durationMs: number;
  retryAfterMs: number | null;
}

/**
 * POSTs one webhook signed with each of `secrets` and reports what happened as a value; never
 * throws for a receiver's failure. Redirects are not followed: a receiver must answer at the URL
 * it registered.
 */
export async function deliverWebhook(opts: {
  url: string;
  secrets: readonly string[];
  eventId: string;
  body: string;
  fetcher?: typeof fetch;
  now?: () => number;
}): Promise<WebhookAttempt> {
  const now = opts.now ?? Date.now;
  const started = now();
  const headers = await signWebhook(opts.secrets, opts.eventId, Math.floor(started / 1000), opts.body);
  try {
    const res = await (opts.fetcher ?? fetch)(opts.url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'user-agent': 'Kiln-Webhooks/1' },
      body: opts.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    await res.body?.cancel();
    const ok = res.status >= 200 && res.status < 300;
    return {
      ok,
      status: res.status,
      error: ok ? null : `The receiver answered HTTP ${res.status}.`,
      durationMs: now() - started,
      retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), now()),
    };
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    return {
      ok: false,
      status: null,
      error: timedOut
        ? `The receiver did not answer within ${WEBHOOK_TIMEOUT_MS / 1000} s.`
        : `Could not reach the receiver: ${err instanceof Error ? err.message : String(err)}.`,
      durationMs: now() - started,
      retryAfterMs: null,
    };
  }
}
