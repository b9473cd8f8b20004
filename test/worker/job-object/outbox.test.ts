import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it, vi } from 'vitest';
import type { Job } from '../../../schemas/job.ts';
import { WEBHOOK_FIRST_RETRY_MS, WEBHOOK_RETRY_WINDOW_MS } from '../../../worker/constants.ts';
import { Outbox } from '../../../worker/job-object/outbox.ts';

const SECRET = 'whsec_a2lsbi1kZXYtd2ViaG9vay1zZWNyZXQ=';
const HOOK_URL = 'https://hooks.example/kiln';
const JOB = { id: 'job_0000000000000000000000test', object: 'job', status: 'succeeded' } as Job;

/** Runs `test` on an Outbox over a fresh Durable Object's SQLite. */
function withOutbox(test: (outbox: Outbox) => Promise<void>): Promise<void> {
  return runInDurableObject(env.JOBS.get(env.JOBS.newUniqueId()), (_instance, state) => test(new Outbox(state.storage.sql)));
}

/** A receiver that answers every webhook with `status` and remembers the requests. */
function receiver(status: number) {
  const requests: Request[] = [];
  const fetcher = async (input: RequestInfo | URL, init?: RequestInit) => {
    requests.push(new Request(input, init));
    return new Response(null, { status });
  };
  return { requests, fetcher: fetcher as typeof fetch };
}

describe('webhook outbox', () => {
  it('queues one event per status, due at once, and sends the job as it was when added', async () => {
    await withOutbox(async (outbox) => {
      const now = Date.now();
      outbox.add(JOB, now);
      outbox.add({ ...JOB, metadata: { changed: 'yes' } }, now + 1);
      expect(outbox.nextAttemptAt()).toBe(now);
      const ok = receiver(204);
      expect(await outbox.deliverDue({ url: HOOK_URL, secrets: async () => [SECRET], now, fetcher: ok.fetcher })).toEqual([]);
      expect(ok.requests).toHaveLength(1);
      expect(ok.requests[0]!.headers.get('webhook-id')).toBe('evt_0000000000000000000000test_succeeded');
      expect(await ok.requests[0]!.json()).toEqual(JOB);
      expect(outbox.deliveries()).toMatchObject([
        { object: 'delivery', attempt: 1, status: 204, trigger: 'automatic', next_attempt_at: null },
      ]);
      expect(outbox.nextAttemptAt()).toBeNull();
    });
  });

  it('records a failed attempt and schedules the next one within the first retry delay, not before', async () => {
    await withOutbox(async (outbox) => {
      const now = Date.now();
      outbox.add(JOB, now);
      await outbox.deliverDue({ url: HOOK_URL, secrets: async () => [SECRET], now, fetcher: receiver(500).fetcher });
      const [first] = outbox.deliveries();
      expect(first).toMatchObject({ attempt: 1, status: 500, error: 'The receiver answered HTTP 500.' });
      expect(first!.next_attempt_at! - first!.created_at).toBeLessThanOrEqual(WEBHOOK_FIRST_RETRY_MS);
      expect(outbox.nextAttemptAt()).toBe(first!.next_attempt_at);
      const early = receiver(204);
      await outbox.deliverDue({ url: HOOK_URL, secrets: async () => [SECRET], now: first!.next_attempt_at! - 1, fetcher: early.fetcher });
      expect(early.requests).toHaveLength(0);
      await outbox.deliverDue({ url: HOOK_URL, secrets: async () => [SECRET], now: first!.next_attempt_at!, fetcher: early.fetcher });
      expect(outbox.deliveries().map((d) => [d.attempt, d.status])).toEqual([
        [1, 500],
        [2, 204],
      ]);
    });
  });

  it('gives up, and says so, once the retry window is spent', async () => {
    await withOutbox(async (outbox) => {
      outbox.add(JOB, Date.now() - WEBHOOK_RETRY_WINDOW_MS);
      const gaveUp = await outbox.deliverDue({
        url: HOOK_URL,
        secrets: async () => [SECRET],
        now: Date.now(),
        fetcher: receiver(500).fetcher,
      });
      expect(gaveUp).toEqual([{ event_id: 'evt_0000000000000000000000test_succeeded', attempts: 1 }]);
      expect(outbox.nextAttemptAt()).toBeNull();
    });
  });

  it('redelivers the latest event now, as a redelivery with a fresh count', async () => {
    await withOutbox(async (outbox) => {
      expect(outbox.redeliverLatest(Date.now())).toBe(false);
      const now = Date.now();
      outbox.add(JOB, now);
      await outbox.deliverDue({ url: HOOK_URL, secrets: async () => [SECRET], now, fetcher: receiver(204).fetcher });
      expect(outbox.redeliverLatest(now + 1)).toBe(true);
      expect(outbox.nextAttemptAt()).toBe(now + 1);
      await outbox.deliverDue({ url: HOOK_URL, secrets: async () => [SECRET], now: now + 1, fetcher: receiver(204).fetcher });
      expect(outbox.deliveries().map((d) => [d.trigger, d.attempt])).toEqual([
        ['automatic', 1],
        ['redeliver', 1],
      ]);
    });
  });

  it('signs each attempt with the secrets valid when it is sent, one signature per secret', async () => {
    await withOutbox(async (outbox) => {
      const now = Date.now();
      const next = 'whsec_bmV3LXNlY3JldC1hZnRlci1yb3RhdGlvbg==';
      let secrets = [SECRET];
      outbox.add(JOB, now);
      const failing = receiver(500);
      await outbox.deliverDue({ url: HOOK_URL, secrets: async () => secrets, now, fetcher: failing.fetcher });
      secrets = [next, SECRET];
      const ok = receiver(204);
      await outbox.deliverDue({ url: HOOK_URL, secrets: async () => secrets, now: outbox.nextAttemptAt()!, fetcher: ok.fetcher });
      const [retry] = ok.requests;
      const headers = Object.fromEntries(retry!.headers);
      const body = await retry!.text();
      expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
      for (const secret of [SECRET, next]) expect(new Webhook(secret).verify(body, headers)).toEqual(JOB);
      expect(Object.fromEntries(failing.requests[0]!.headers)['webhook-signature']!.split(' ')).toHaveLength(1);
    });
  });

  it('asks for the secrets only when something is due', async () => {
    await withOutbox(async (outbox) => {
      const secrets = vi.fn(async () => [SECRET]);
      await outbox.deliverDue({ url: HOOK_URL, secrets, now: Date.now(), fetcher: receiver(204).fetcher });
      outbox.add(JOB, Date.now() + 60_000);
      await outbox.deliverDue({ url: HOOK_URL, secrets, now: Date.now(), fetcher: receiver(204).fetcher });
      expect(secrets).not.toHaveBeenCalled();
    });
  });

  it('records an attempt that could not load the secrets as failed, sends nothing unsigned, and retries it', async () => {
    await withOutbox(async (outbox) => {
      const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
      const now = Date.now();
      outbox.add(JOB, now);
      const unsent = receiver(204);
      const gaveUp = await outbox.deliverDue({
        url: HOOK_URL,
        secrets: () => Promise.reject(new Error('tenant object unavailable')),
        now,
        fetcher: unsent.fetcher,
      });
      logged.mockRestore();
      expect(gaveUp).toEqual([]);
      expect(unsent.requests).toHaveLength(0);
      const [attempt] = outbox.deliveries();
      expect(attempt).toMatchObject({
        attempt: 1,
        status: null,
        error: 'Kiln could not load the signing secret, so nothing was sent; the webhook is retried.',
      });
      expect(attempt!.next_attempt_at! - attempt!.created_at).toBeLessThanOrEqual(WEBHOOK_FIRST_RETRY_MS);
      expect(outbox.nextAttemptAt()).toBe(attempt!.next_attempt_at);
    });
  });

  it('keeps a redelivery asked for while an attempt is in flight, whatever that attempt answers', async () => {
    await withOutbox(async (outbox) => {
      const now = Date.now();
      outbox.add(JOB, now);
      const redeliverMidAttempt = (async () => {
        expect(outbox.redeliverLatest(now + 1)).toBe(true);
        return new Response(null, { status: 204 });
      }) as unknown as typeof fetch;
      await outbox.deliverDue({ url: HOOK_URL, secrets: async () => [SECRET], now, fetcher: redeliverMidAttempt });
      expect(outbox.nextAttemptAt()).toBe(now + 1);
      await outbox.deliverDue({ url: HOOK_URL, secrets: async () => [SECRET], now: now + 1, fetcher: receiver(204).fetcher });
      expect(outbox.deliveries().map((d) => [d.trigger, d.attempt, d.status])).toEqual([
        ['automatic', 1, 204],
        ['redeliver', 1, 204],
      ]);
      expect(outbox.nextAttemptAt()).toBeNull();
    });
  });

  it('opens an outbox stored before redeliveries were counted, and redelivers from it', async () => {
    await runInDurableObject(env.JOBS.get(env.JOBS.newUniqueId()), async (_instance, state) => {
      const sql = state.storage.sql;
      sql.exec('DROP TABLE outbox');
      sql.exec(`CREATE TABLE outbox (event_id TEXT PRIMARY KEY, body TEXT NOT NULL, first_at INTEGER NOT NULL,
        next_at INTEGER, attempts INTEGER NOT NULL DEFAULT 0, trigger TEXT NOT NULL)`);
      sql.exec(`INSERT INTO outbox VALUES ('evt_old_succeeded', '{}', 1, NULL, 1, 'automatic')`);
      const outbox = new Outbox(sql);
      const now = Date.now();
      expect(outbox.redeliverLatest(now)).toBe(true);
      await outbox.deliverDue({ url: HOOK_URL, secrets: async () => [SECRET], now, fetcher: receiver(204).fetcher });
      expect(outbox.deliveries().map((d) => [d.event_id, d.trigger])).toEqual([['evt_old_succeeded', 'redeliver']]);
    });
  });
});
