import { describe, expect, it } from 'vitest';
import { api, VIDEO_JOB } from '../helpers.ts';

/** Tenants used only here; this project allows 3 jobs and 2 uploads a minute per tenant (vitest.config.ts). */
const BURST = 'burst_tenant_key';
const CALM = 'calm_tenant_key';

function retryAfterS(res: Response): number {
  const value = Number(res.headers.get('retry-after'));
  // The bucket refills one job every 20 s and one upload every 30 s.
  expect(Number.isInteger(value) && value >= 1 && value <= 30).toBe(true);
  return value;
}

describe('per-tenant request rates', () => {
  it('answers job and task creation beyond the rate with 429 rate_limited and Retry-After, while another tenant goes on', async () => {
    // A cold Worker's first request can take seconds; warm it before the clock of the bucket matters.
    expect((await api('/jobs', { key: BURST })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await api('/jobs', { method: 'POST', json: VIDEO_JOB, key: BURST })).status).toBe(201);
    const refused = await api('/jobs', { method: 'POST', json: VIDEO_JOB, key: BURST });
    expect(refused.status).toBe(429);
    const wait = retryAfterS(refused);
    expect(await refused.json()).toEqual({
      kind: 'rate_limited',
      message: `Too many jobs and tasks created for this API key: the limit is 3 a minute (RATE_LIMIT_JOBS_PER_MINUTE). Retry after ${wait} s.`,
    });
    const task = await api('/tasks', { method: 'POST', json: { kind: 'video', url: VIDEO_JOB.input }, key: BURST });
    expect(task.status).toBe(429);
    retryAfterS(task);
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
    expect((await put()).status).toBe(200);
    const refusedUpload = await upload(BURST);
    expect(refusedUpload.status).toBe(429);
    const wait = retryAfterS(refusedUpload);
    expect(await refusedUpload.json()).toEqual({
      kind: 'rate_limited',
      message: `Too many uploads for this API key: the limit is 2 a minute (RATE_LIMIT_UPLOADS_PER_MINUTE). Retry after ${wait} s.`,
    });
    const refusedPut = await put();
    expect(refusedPut.status).toBe(429);
    expect(await refusedPut.json()).toMatchObject({ kind: 'rate_limited' });
    expect((await upload(CALM)).status).toBe(201);
  });
});
