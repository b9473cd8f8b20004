import { describe, expect, it, vi } from 'vitest';
import { api, createJob, OUTPUT_INFO, processorDouble, report, VIDEO_JOB } from '../helpers.ts';

/** Tenants used only here; this project runs one job per tenant at a time (vitest.config.ts). */
const OTHER = 'other_tenant_key';

const double = processorDouble();

async function statusOf(id: string, key?: string): Promise<string> {
  return (await (await api(`/jobs/${id}`, { key })).json<{ status: string }>()).status;
}

describe('per-tenant run slots', () => {
  it("runs one of a tenant's jobs at a time while the rest wait queued, until all succeed; another tenant's job runs meanwhile", async () => {
    const jobs = [(await createJob()).id, (await createJob()).id, (await createJob()).id];
    const created = await api('/jobs', { method: 'POST', json: VIDEO_JOB, key: OTHER });
    expect(created.status).toBe(201);
    const otherJob = (await created.json<{ id: string }>()).id;
    const finished: string[] = [];
    for (let round = 0; round < jobs.length; round++) {
      const started = await vi.waitFor(
        async () => {
          const dispatched: string[] = [];
          for (const id of jobs) if (!finished.includes(id) && (await double.tasks(id)).length > 0) dispatched.push(id);
          if (dispatched.length === 0) throw new Error(`none of the ${jobs.length - finished.length} waiting jobs has started`);
          return dispatched;
        },
        { timeout: 80_000, interval: 250 },
      );
      expect(started).toHaveLength(1);
      const running = started[0]!;
      for (const id of jobs.filter((j) => j !== running && !finished.includes(j))) expect(await statusOf(id)).toBe('queued');
      if (round === 0) {
        await double.waitForTasks(otherJob);
        expect(await statusOf(otherJob, OTHER)).toBe('processing');
        const waiting = jobs.find((j) => j !== running)!;
        // The running job may have started as it was created, before the queue delivered the others.
        await vi.waitFor(
          async () => {
            const events = await (await api(`/jobs/${waiting}/events`)).json<{ type: string }[]>();
            expect(events.map((e) => e.type)).toContain('run_waiting');
          },
          { timeout: 15_000, interval: 100 },
        );
      }
      const [task] = await double.tasks(running);
      expect((await report(task!, { type: 'succeeded', output: OUTPUT_INFO })).status).toBe(200);
      expect(await statusOf(running)).toBe('succeeded');
      finished.push(running);
    }
    for (const id of jobs) expect((await double.tasks(id)).length).toBe(1);
  });
});
