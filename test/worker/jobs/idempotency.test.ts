import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { JobCreate } from '../../../schemas/job.ts';
import { JobObject } from '../../../worker/job-object/index.ts';
import { requestHash } from '../../../worker/jobs/create.ts';
import { tenantStub } from '../../../worker/stubs.ts';
import { newId } from '../../../worker/utils/ids.ts';
import { api, VIDEO_JOB } from '../helpers.ts';

/** Jobs of the dev tenant tagged with `run`, as GET /jobs lists them. */
async function jobsTagged(run: string): Promise<string[]> {
  const res = await api(`/jobs?metadata[run]=${run}`);
  return (await res.json<{ id: string }[]>()).map((j) => j.id);
}

const realCreate = JobObject.prototype.create;
afterEach(() => {
  JobObject.prototype.create = realCreate;
});

describe('Idempotency-Key when the job object call fails', () => {
  it('ends in one job when create stored the job and then failed', async () => {
    // The Worker loses its answer from the JobObject after the job was stored (a reset Durable
    // Object, a dropped connection): the job exists but the request fails.
    JobObject.prototype.create = async function createThenFail(this: JobObject, n) {
      await realCreate.call(this, n);
      throw new Error('Durable Object reset because its code was updated.');
    };
    const body = { ...VIDEO_JOB, metadata: { run: 'stored-then-failed' } };
    const headers = { 'idempotency-key': 'stored-then-failed' };
    expect((await api('/jobs', { method: 'POST', json: body, headers })).status).toBe(500);
    JobObject.prototype.create = realCreate;

    const retry = await api('/jobs', { method: 'POST', json: body, headers });
    expect(retry.status).toBe(200);
    const { id } = await retry.json<{ id: string }>();
    expect(await jobsTagged('stored-then-failed')).toEqual([id]);
  });

  it('ends in one job when the Worker died between claiming the key and creating the job', async () => {
    const body = { ...VIDEO_JOB, metadata: { run: 'died-after-claim' } };
    const claimedId = newId('job');
    const claim = await tenantStub(env, 'dev').claimIdempotencyKey('died-after-claim', await requestHash(JobCreate.parse(body)), claimedId);
    expect(claim).toEqual({ outcome: 'new' });

    const retry = await api('/jobs', { method: 'POST', json: body, headers: { 'idempotency-key': 'died-after-claim' } });
    expect(retry.status).toBe(200);
    expect((await retry.json<{ id: string }>()).id).toBe(claimedId);
    const again = await api('/jobs', { method: 'POST', json: body, headers: { 'idempotency-key': 'died-after-claim' } });
    expect((await again.json<{ id: string }>()).id).toBe(claimedId);
    expect(await jobsTagged('died-after-claim')).toEqual([claimedId]);
  });

  it('creates the task a dead request claimed, and finds it by its task id', async () => {
    const body = { kind: 'video', url: VIDEO_JOB.input, width: 640, metadata: { run: 'task-after-claim' } };
    const asJob = JobCreate.parse({
      kind: 'video',
      input: VIDEO_JOB.input,
      options: { width: 640 },
      metadata: { run: 'task-after-claim' },
    });
    const claimedId = newId('job');
    await tenantStub(env, 'dev').claimIdempotencyKey('task-after-claim', await requestHash(asJob), claimedId);
    const res = await api('/tasks', { method: 'POST', json: body, headers: { 'idempotency-key': 'task-after-claim' } });
    expect(res.status).toBe(200);
    const task = await res.json<{ id: string; job_id: string }>();
    expect(task.job_id).toBe(claimedId);
    expect((await api(`/tasks/${task.id}`)).status).toBe(200);
  });
});
