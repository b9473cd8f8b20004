import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RUN_SLOT_RECHECK_MS } from '../../../worker/constants.ts';
import { tenantStub } from '../../../worker/stubs.ts';
import { takeToken } from '../../../worker/tenant-object/limits.ts';
import { api, createJob, processorDouble } from '../helpers.ts';

const double = processorDouble();

/** A tenant no other test uses: limits are counted per tenant. */
const freshTenant = () => tenantStub(env, `limits-${crypto.randomUUID()}`);

async function slotHolders(tenant: string): Promise<string[]> {
  return runInDurableObject(tenantStub(env, tenant), (_instance, state) =>
    state.storage.sql
      .exec<{ job_id: string }>('SELECT job_id FROM run_slots')
      .toArray()
      .map((r) => r.job_id),
  );
}

describe('rate token bucket', () => {
  const t0 = 1_000_000;

  it("lets a minute's worth through at once, then refuses, saying how many seconds until the next one", () => {
    let bucket = null;
    for (let i = 0; i < 3; i++) {
      const taken = takeToken(bucket, 3, t0);
      expect(taken.result).toEqual({ allowed: true });
      bucket = taken.bucket;
    }
    const refused = takeToken(bucket, 3, t0);
    expect(refused.result).toEqual({ allowed: false, retryAfterS: 20 });
    const sooner = takeToken(refused.bucket, 3, t0 + 10_000);
    expect(sooner.result).toEqual({ allowed: false, retryAfterS: 10 });
    expect(takeToken(sooner.bucket, 3, t0 + 20_000).result).toEqual({ allowed: true });
  });

  it("never holds more than a minute's worth, however long the tenant was idle", () => {
    const idle = takeToken({ tokens: 0, updatedAt: t0 }, 3, t0 + 24 * 60 * 60_000);
    expect(idle.bucket.tokens).toBe(2);
  });

  it('refills nothing when the clock steps back', () => {
    expect(takeToken({ tokens: 0.5, updatedAt: t0 }, 3, t0 - 60_000).result).toEqual({ allowed: false, retryAfterS: 10 });
  });
});

describe('run slots', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('gives a tenant at most `limit` slots, one per job, and a job its own slot back', async () => {
    const tenant = freshTenant();
    expect(await tenant.acquireRunSlot('job_a', 2)).toBe(true);
    expect(await tenant.acquireRunSlot('job_b', 2)).toBe(true);
    expect(await tenant.acquireRunSlot('job_c', 2)).toBe(false);
    expect(await tenant.acquireRunSlot('job_a', 2)).toBe(true);
    await tenant.releaseRunSlot('job_a');
    expect(await tenant.acquireRunSlot('job_c', 2)).toBe(true);
  });

  it('is not counted against another tenant', async () => {
    const busy = freshTenant();
    expect(await busy.acquireRunSlot('job_a', 1)).toBe(true);
    expect(await busy.acquireRunSlot('job_b', 1)).toBe(false);
    expect(await freshTenant().acquireRunSlot('job_b', 1)).toBe(true);
  });

  it('frees a slot whose job ended without giving it back, once it is due for a check, and not while its run goes on', async () => {
    const { id } = await createJob();
    await double.waitForTasks(id);
    const tenant = freshTenant();
    expect(await tenant.acquireRunSlot(id, 1)).toBe(true);
    expect(await tenant.acquireRunSlot('job_waiting', 1)).toBe(false);
    vi.setSystemTime(Date.now() + RUN_SLOT_RECHECK_MS + 1);
    // Checked: the job is still processing, so its slot stays.
    expect(await tenant.acquireRunSlot('job_waiting', 1)).toBe(false);
    // The job ends, but this tenant never hears of it (its index is another tenant's): a lost release.
    expect((await api(`/jobs/${id}/cancel`, { method: 'POST' })).status).toBe(200);
    expect(await tenant.acquireRunSlot('job_waiting', 1)).toBe(false);
    vi.setSystemTime(Date.now() + RUN_SLOT_RECHECK_MS + 1);
    expect(await tenant.acquireRunSlot('job_waiting', 1)).toBe(true);
  });

  it("gives a run's slot back when its job ends, through the tenant index", async () => {
    const { id } = await createJob();
    await double.waitForTasks(id);
    expect(await slotHolders('dev')).toContain(id);
    expect((await api(`/jobs/${id}/cancel`, { method: 'POST' })).status).toBe(200);
    expect(await slotHolders('dev')).not.toContain(id);
  });
});
