import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it, vi } from 'vitest';
import { WEBHOOK_FIRST_RETRY_MS } from '../../../worker/constants.ts';
import { jobStub } from '../../../worker/stubs.ts';
import { api, createJob, OUTPUT_INFO, processorDouble, report } from '../helpers.ts';

const processor = processorDouble();
const SECRET = 'whsec_a2lsbi1kZXYtd2ViaG9vay1zZWNyZXQ=';

async function finishedJobWithHook(name: string, metadata: Record<string, string> = {}) {
  const job = await createJob({ webhook_url: processor.hookUrl(name), metadata });
  const [task] = await processor.waitForTasks(job.id);
  await report(task!, { type: 'succeeded', output: OUTPUT_INFO });
  return job;
}

/** Waits for the job's first delivery attempt to be recorded. */
function firstDelivery(jobId: string): Promise<Record<string, any>> {
  return vi.waitFor(async () => {
    const deliveries = await (await api(`/jobs/${jobId}/deliveries`)).json<Record<string, any>[]>();
    if (!deliveries.length) throw new Error('no attempt yet');
    return deliveries[0]!;
  });
}

/** Moves the clock to the next webhook attempt and fires the alarm, instead of waiting. */
async function fireDueWebhooks(jobId: string) {
  const deliveries = await (await api(`/jobs/${jobId}/deliveries`)).json<{ next_attempt_at: number | null }[]>();
  vi.setSystemTime(Math.max(Date.now(), ...deliveries.map((d) => d.next_attempt_at ?? 0)));
  try {
    await runDurableObjectAlarm(jobStub(env, jobId));
  } finally {
    vi.useRealTimers();
  }
}

describe('webhooks', () => {
  it('POSTs the finished job, signed so the standardwebhooks package verifies it, with metadata', async () => {
    const job = await finishedJobWithHook('signed', { user_id: 'usr_abc123', campaign: 'summer-launch' });
    const [hook] = await vi.waitFor(async () => {
      const hooks = await processor.hooks('signed');
      if (!hooks.length) throw new Error('no delivery yet');
      return hooks;
    });
    const payload = new Webhook(SECRET).verify(hook!.body, hook!.headers) as Record<string, any>;
    expect(payload).toMatchObject({ id: job.id, status: 'succeeded', metadata: { user_id: 'usr_abc123', campaign: 'summer-launch' } });
    expect(payload.output.url).toMatch(/^http:\/\/127.0.0.1:8787\/files\/outputs\//);
    expect(hook!.headers['webhook-id']).toBe(`evt_${job.id.slice(4)}_succeeded`);
    expect(() => new Webhook(SECRET).verify(hook!.body.replace('succeeded', 'failed'), hook!.headers)).toThrow();
  });

  it('records a failed attempt, retries within 10 s, and stops after success', async () => {
    await processor.hookRespondWith('flaky', 500);
    const job = await finishedJobWithHook('flaky');
    const first = await firstDelivery(job.id);
    expect(first).toMatchObject({ object: 'delivery', attempt: 1, status: 500, trigger: 'automatic' });
    expect(first.next_attempt_at - first.created_at).toBeLessThanOrEqual(WEBHOOK_FIRST_RETRY_MS + 50);
    await processor.hookRespondWith('flaky', 204);
    await fireDueWebhooks(job.id);
    const deliveries = await (await api(`/jobs/${job.id}/deliveries`)).json<Record<string, any>[]>();
    expect(deliveries.map((d) => [d.attempt, d.status, d.next_attempt_at])).toEqual([
      [1, 500, first.next_attempt_at],
      [2, 204, null],
    ]);
    const hooks = await processor.hooks('flaky');
    expect(new Set(hooks.map((h) => h.headers['webhook-id'])).size).toBe(1);
  });

  it("waits at least the receiver's Retry-After", async () => {
    await processor.hookRespondWith('slow-down', 503);
    const job = await finishedJobWithHook('slow-down');
    const first = await firstDelivery(job.id);
    // The processor double answers 503 with `Retry-After: 30`.
    expect(first.next_attempt_at - first.created_at).toBeGreaterThanOrEqual(30_000 - 50);
    const stub = jobStub(env, job.id);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBe(first.next_attempt_at);
    // An alarm that runs before that time (alarms can fire early after a retry) sends nothing.
    await runDurableObjectAlarm(stub);
    expect(await processor.hooks('slow-down')).toHaveLength(1);
    expect(await (await api(`/jobs/${job.id}/deliveries`)).json<unknown[]>()).toHaveLength(1);
    await fireDueWebhooks(job.id);
    expect(await processor.hooks('slow-down')).toHaveLength(2);
  });

  it('redelivers on request with the same webhook-id', async () => {
    const job = await finishedJobWithHook('again');
    await vi.waitFor(async () => {
      if ((await processor.hooks('again')).length < 1) throw new Error('no delivery yet');
    });
    const res = await api(`/jobs/${job.id}/deliveries/redeliver`, { method: 'POST' });
    expect(res.status).toBe(202);
    await vi.waitFor(async () => {
      if ((await processor.hooks('again')).length < 2) throw new Error('no redelivery yet');
    });
    const hooks = await processor.hooks('again');
    expect(hooks[1]!.headers['webhook-id']).toBe(hooks[0]!.headers['webhook-id']);
    const deliveries = await (await api(`/jobs/${job.id}/deliveries`)).json<{ trigger: string }[]>();
    expect(deliveries.map((d) => d.trigger)).toEqual(['automatic', 'redeliver']);
  });

  it('sends a redelivery requested while an attempt is in flight, and records it', async () => {
    await processor.holdHooks('slow');
    const job = await finishedJobWithHook('slow');
    await vi.waitFor(async () => {
      if ((await processor.hooks('slow')).length < 1) throw new Error('no attempt in flight yet');
    });
    expect((await api(`/jobs/${job.id}/deliveries/redeliver`, { method: 'POST' })).status).toBe(202);
    await processor.releaseHooks('slow');
    await vi.waitFor(async () => {
      if ((await processor.hooks('slow')).length < 2) throw new Error('no redelivery yet');
    });
    const deliveries = await vi.waitFor(async () => {
      const all = await (await api(`/jobs/${job.id}/deliveries`)).json<{ trigger: string; status: number }[]>();
      if (all.length < 2) throw new Error('redelivery not recorded yet');
      return all;
    });
    expect(deliveries.map((d) => [d.trigger, d.status])).toEqual([
      ['automatic', 200],
      ['redeliver', 200],
    ]);
  });

  it('refuses to redeliver for a job without a webhook_url, naming the job id as the issue', async () => {
    const job = await createJob();
    const res = await api(`/jobs/${job.id}/deliveries/redeliver`, { method: 'POST' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      kind: 'invalid_input',
      message: 'The job has no webhook_url.',
      issues: [{ path: 'id', message: 'The job has no webhook_url.' }],
    });
  });
});
