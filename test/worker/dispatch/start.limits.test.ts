import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import worker from '../../../worker/index.ts';
import { api, BASE, processorDouble, VIDEO_JOB } from '../helpers.ts';

/** A tenant used only here; this project runs one job per tenant at a time (vitest.config.ts). */
const KEY = 'slots_tenant_key';

const double = processorDouble();

/** POST /jobs as the tenant, waiting for the work the request left to waitUntil (the direct dispatch) as well. */
async function submit(): Promise<string> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`${BASE}/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(VIDEO_JOB),
    }),
    env,
    ctx,
  );
  expect(res.status).toBe(201);
  await waitOnExecutionContext(ctx);
  return (await res.json<{ id: string }>()).id;
}

describe('dispatch at creation, per-tenant run slots', () => {
  it("leaves a new job to its queue message while the tenant's run slots are taken", async () => {
    const first = await submit();
    expect((await double.tasks(first)).length).toBe(1);
    const second = await submit();
    expect(await double.tasks(second)).toEqual([]);
    const job = await (await api(`/jobs/${second}`, { key: KEY })).json<{ status: string }>();
    expect(job.status).toBe('queued');
    // The queue's consumer finds the slot taken too, and says so on the job.
    await vi.waitFor(
      async () => {
        const events = await (await api(`/jobs/${second}/events`, { key: KEY })).json<{ type: string }[]>();
        expect(events.map((e) => e.type)).toEqual(['created', 'run_waiting']);
      },
      { timeout: 15_000, interval: 100 },
    );
    expect(await double.tasks(second)).toEqual([]);
  });
});
