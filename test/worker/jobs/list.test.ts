import { describe, expect, it } from 'vitest';
import { api, VIDEO_JOB } from '../helpers.ts';

async function create(body: Record<string, unknown>): Promise<string> {
  const res = await api('/jobs', { method: 'POST', json: { ...VIDEO_JOB, ...body } });
  expect(res.status).toBe(201);
  return (await res.json<{ id: string }>()).id;
}

describe('GET /jobs', () => {
  it('pages newest first with Link, Has-More and Limit headers until every job was seen once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await create({ metadata: { batch: 'paging' } }));
    const seen: string[] = [];
    let url: string | null = '/jobs?limit=2&metadata[batch]=paging';
    while (url) {
      const res = await api(url);
      expect(res.headers.get('limit')).toBe('2');
      const page = await res.json<{ id: string }[]>();
      seen.push(...page.map((j) => j.id));
      const link = res.headers.get('link');
      expect(res.headers.get('has-more')).toBe(String(link !== null));
      url = link ? new URL(/<([^>]+)>/.exec(link)![1]!).pathname + new URL(/<([^>]+)>/.exec(link)![1]!).search : null;
    }
    expect(seen).toEqual([...ids].reverse());
  });

  it('orders ascending and pages backwards with before', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await create({ metadata: { batch: 'asc' } }));
    const asc = await (await api('/jobs?order=asc&metadata[batch]=asc')).json<{ id: string }[]>();
    expect(asc.map((j) => j.id)).toEqual(ids);
    const newer = await (await api(`/jobs?limit=2&before=${ids[0]}&metadata[batch]=asc`)).json<{ id: string }[]>();
    expect(newer.map((j) => j.id)).toEqual([ids[2], ids[1]]);
    const none = await (await api(`/jobs?before=${ids[0]}&order=asc&metadata[batch]=asc`)).json<{ id: string }[]>();
    expect(none).toEqual([]);
    const back = await (await api(`/jobs?limit=2&before=${ids[3]}&order=asc&metadata[batch]=asc`)).json<{ id: string }[]>();
    expect(back.map((j) => j.id)).toEqual([ids[1], ids[2]]);
  });

  it('filters by kind, status, input and several metadata keys at once', async () => {
    const a = await create({ metadata: { user_id: 'u1', campaign: 'summer' } });
    await create({ metadata: { user_id: 'u1', campaign: 'winter' } });
    const img = await create({ kind: 'image', options: { width: 640 }, input: 'https://example.com/p.png', metadata: { user_id: 'u1' } });
    const both = await (await api('/jobs?metadata[user_id]=u1&metadata[campaign]=summer')).json<{ id: string }[]>();
    expect(both.map((j) => j.id)).toEqual([a]);
    const images = await (await api('/jobs?kind=image&metadata[user_id]=u1')).json<{ id: string }[]>();
    expect(images.map((j) => j.id)).toEqual([img]);
    const byInput = await (await api('/jobs?input=https://example.com/p.png')).json<{ id: string }[]>();
    expect(byInput.map((j) => j.id)).toContain(img);
    await api(`/jobs/${a}/cancel`, { method: 'POST' });
    const cancelled = await (await api('/jobs?status=cancelled&metadata[user_id]=u1')).json<{ id: string; status: string }[]>();
    expect(cancelled.map((j) => j.id)).toEqual([a]);
  });

  it('ignores unknown query parameters with a Warning, and refuses out-of-range limits by name', async () => {
    const unknown = await api('/jobs?colour=red');
    expect(unknown.status).toBe(200);
    expect(unknown.headers.get('Warning')).toBe('299 kiln "Ignored unknown query parameter colour"');
    const limit = await api('/jobs?limit=500');
    expect(limit.status).toBe(400);
    expect((await limit.json<{ issues: { path: string }[] }>()).issues[0]?.path).toBe('query.limit');
  });
});
