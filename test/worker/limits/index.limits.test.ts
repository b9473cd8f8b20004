import { describe, expect, it } from 'vitest';
import { api, VIDEO_JOB } from '../helpers.ts';

/** Tenants used only here; this project allows 3 jobs and 2 uploads a minute per tenant (vitest.config.ts). */
const BURST = 'burst_tenant_key';
const CALM = 'calm_tenant_key';

/** The refused answers among `answers`, each checked for the error envelope and a Retry-After within one refill (20 s a job, 30 s an upload). */
async function refusals(answers: Response[]): Promise<{ kind: string; message: string; retryAfterS: number }[]> {
  const refused = answers.filter((r) => r.status === 429);
  return Promise.all(
    refused.map(async (r) => {
      const retryAfterS = Number(r.headers.get('retry-after'));
      expect(Number.isInteger(retryAfterS) && retryAfterS >= 1 && retryAfterS <= 30).toBe(true);
      return { ...(await r.json<{ kind: string; message: string }>()), retryAfterS };
    }),
  );
}

// Each burst is sent at once, so no token can refill between its requests however slow the machine.
describe('per-tenant request rates', () => {
  it('answers job and task creation beyond the rate with 429 rate_limited and Retry-After, while another tenant goes on', async () => {
    const createJob = () => api('/jobs', { method: 'POST', json: VIDEO_JOB, key: BURST });
    const createTask = () => api('/tasks', { method: 'POST', json: { kind: 'video', url: VIDEO_JOB.input }, key: BURST });
    const answers = await Promise.all([createJob(), createJob(), createJob(), createJob(), createTask()]);
    // Tasks count against the same rate as jobs: three of the five get through.
    expect(answers.filter((r) => r.status === 201)).toHaveLength(3);
    const refused = await refusals(answers);
    expect(refused).toHaveLength(2);
    for (const { kind, message, retryAfterS } of refused) {
      expect({ kind, message }).toEqual({
        kind: 'rate_limited',
        message: `Too many jobs and tasks created for this tenant: the limit is 3 a minute (RATE_LIMIT_JOBS_PER_MINUTE). Retry after ${retryAfterS} s.`,
      });
    }
    // Reading is never limited: a client polls its jobs most during a burst.
    expect((await api('/jobs', { key: BURST })).status).toBe(200);
    expect((await api('/jobs', { method: 'POST', json: VIDEO_JOB, key: CALM })).status).toBe(201);
  });

  it('answers uploads beyond the rate with 429, through POST /uploads and PUT /files/{id} alike', async () => {
    const upload = (key: string) => api('/uploads', { method: 'POST', json: { filename: 'clip.mp4', content_type: 'video/mp4' }, key });
    const created = await upload(BURST);
    expect(created.status).toBe(201);
    const { file } = await created.json<{ file: { id: string } }>();
    const put = () =>
      api(`/files/${file.id}`, { method: 'PUT', body: 'not a video', headers: { 'content-type': 'video/mp4' }, key: BURST });
    const answers = await Promise.all([put(), upload(BURST), put()]);
    expect(answers.filter((r) => r.status === 200 || r.status === 201)).toHaveLength(1);
    const refused = await refusals(answers);
    expect(refused).toHaveLength(2);
    for (const { kind, message, retryAfterS } of refused) {
      expect({ kind, message }).toEqual({
        kind: 'rate_limited',
        message: `Too many uploads for this tenant: the limit is 2 a minute (RATE_LIMIT_UPLOADS_PER_MINUTE). Retry after ${retryAfterS} s.`,
      });
    }
    expect((await upload(CALM)).status).toBe(201);
  });
});
