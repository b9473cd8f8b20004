import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HEARTBEAT_TIMEOUT_MS, MAX_RUN_ATTEMPTS, QUEUE_STALL_MS } from '../../../worker/constants.ts';
import { jobStub } from '../../../worker/stubs.ts';
import { api, createJob, processorDouble, report } from '../helpers.ts';

const processor = processorDouble();

/** Moves the clock the Worker reads `ms` forward, as time passing would. */
function later(ms: number) {
  vi.setSystemTime(Date.now() + ms);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('watchdog', () => {
  it('keeps a run whose heartbeat is fresh', async () => {
    const job = await createJob();
    await processor.waitForTasks(job.id);
    const stub = jobStub(env, job.id);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await processor.tasks(job.id)).toHaveLength(1);
    expect((await api(`/jobs/${job.id}`).then((r) => r.json<{ status: string }>())).status).toBe('processing');
    // A lost-run verdict would re-queue the run; its re-dispatch arrives later, but the log is immediate.
    const events = await api(`/jobs/${job.id}/events`).then((r) => r.json<{ type: string }[]>());
    expect(events.map((e) => e.type)).not.toContain('run_lost');
    expect(events.map((e) => e.type)).toContain('run_started');
  });

  it('re-dispatches once when the heartbeat is older than the watchdog, and ignores the lost run', async () => {
    const job = await createJob();
    const [first] = await processor.waitForTasks(job.id);
    later(HEARTBEAT_TIMEOUT_MS + 1);
    await runDurableObjectAlarm(jobStub(env, job.id));
    const tasks = await processor.waitForTasks(job.id, 2);
    expect(tasks[1]!.attempt).toBe(2);
    expect(tasks[1]!.callback.token).not.toBe(first!.callback.token);
    // The first run comes back to life: its events are refused so it stops.
    const stale = await report(first!, { type: 'progress', stage: 'encode', progress: 90 });
    expect(stale.status).toBe(409);
    const events = await (await api(`/jobs/${job.id}/events`)).json<{ type: string; detail: unknown }[]>();
    expect(events.find((e) => e.type === 'run_lost')).toMatchObject({ detail: { attempt: 1 } });
  });

  it(`fails with kind timeout after ${MAX_RUN_ATTEMPTS} silent runs, never staying in processing`, async () => {
    const job = await createJob();
    for (let attempt = 1; attempt <= MAX_RUN_ATTEMPTS; attempt++) {
      await processor.waitForTasks(job.id, attempt);
      later(HEARTBEAT_TIMEOUT_MS + 1);
      await runDurableObjectAlarm(jobStub(env, job.id));
    }
    const failed = await (await api(`/jobs/${job.id}`)).json<{ status: string; error: { kind: string; message: string } }>();
    expect(failed.status).toBe('failed');
    expect(failed.error.kind).toBe('timeout');
    expect(failed.error.message).toMatch(/stopped responding 3 times/);
    expect(await processor.tasks(job.id)).toHaveLength(MAX_RUN_ATTEMPTS);
    const stub = jobStub(env, job.id);
    expect(await runDurableObjectAlarm(stub)).toBe(false);
  });

  it('re-sends the queue message of a job that sat unclaimed past the stall limit', async () => {
    const job = await createJob();
    await processor.respondWith(job.id, 503);
    await processor.waitForTasks(job.id);
    await vi.waitFor(async () => {
      const events = await (await api(`/jobs/${job.id}/events`)).json<{ type: string }[]>();
      if (!events.some((e) => e.type === 'run_deferred')) throw new Error('the busy processor has not been heard yet');
    });
    later(QUEUE_STALL_MS + 1);
    await runDurableObjectAlarm(jobStub(env, job.id));
    const events = await (await api(`/jobs/${job.id}/events`)).json<{ type: string }[]>();
    expect(events.map((e) => e.type)).toContain('queue_resend');
    expect((await api(`/jobs/${job.id}/events`, { key: 'other_tenant_key' })).status).toBe(404);
  });
});
