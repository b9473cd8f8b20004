import { describe, expect, it } from 'vitest';
import { api, VIDEO_JOB } from '../helpers.ts';

type ErrorAnswer = { kind: string; message: string; issues: { path: string; message: string }[] };

async function createWith(metadata: Record<string, unknown>): Promise<Response> {
  return api('/jobs', { method: 'POST', json: { ...VIDEO_JOB, metadata } });
}

async function ids(path: string): Promise<string[]> {
  const res = await api(path);
  expect(res.status).toBe(200);
  return (await res.json<{ id: string }[]>()).map((j) => j.id);
}

describe('metadata: arbitrary flat key-value pairs', () => {
  it('accepts strings, numbers and booleans, with keys holding - and ., and echoes each with its type', async () => {
    const metadata = {
      user_id: 'usr_abc123',
      'user-id': 'usr_abc123',
      'app.version': '2.1',
      count: 3,
      ratio: 0.25,
      flag: true,
      draft: false,
    };
    const res = await createWith(metadata);
    expect(res.status).toBe(201);
    const job = await res.json<{ id: string; metadata: unknown }>();
    expect(job.metadata).toEqual(metadata);
    expect((await (await api(`/jobs/${job.id}`)).json<{ metadata: unknown }>()).metadata).toEqual(metadata);
  });

  it('filters a number by the text it is echoed as, a boolean by true or false, and keys with - or .', async () => {
    const batch = crypto.randomUUID();
    const three = await (await createWith({ batch, count: 3, flag: true, 'app.version': '2.1' })).json<{ id: string }>();
    const four = await (await createWith({ batch, count: 4, flag: false, 'user-id': 'u-9' })).json<{ id: string }>();
    const text = await (await createWith({ batch, count: '3' })).json<{ id: string }>();
    expect(await ids(`/jobs?metadata[batch]=${batch}&metadata[count]=3`)).toEqual([text.id, three.id]);
    expect(await ids(`/jobs?metadata[batch]=${batch}&metadata[count]=4`)).toEqual([four.id]);
    expect(await ids(`/jobs?metadata[batch]=${batch}&metadata[flag]=true`)).toEqual([three.id]);
    expect(await ids(`/jobs?metadata[batch]=${batch}&metadata[flag]=false`)).toEqual([four.id]);
    expect(await ids(`/jobs?metadata[batch]=${batch}&metadata[app.version]=2.1`)).toEqual([three.id]);
    expect(await ids(`/jobs?metadata[batch]=${batch}&metadata[user-id]=u-9`)).toEqual([four.id]);
  });

  it.each([
    [
      { profile: { plan: 'pro' } },
      'metadata.profile',
      'Expected a string, number or boolean (metadata is flat key-value pairs: nest nothing, or send the value as a JSON string) for metadata.profile but received {"plan":"pro"} of type object',
    ],
    [
      { tags: ['a', 'b'] },
      'metadata.tags',
      'Expected a string, number or boolean (metadata is flat key-value pairs: nest nothing, or send the value as a JSON string) for metadata.tags but received ["a","b"] of type array',
    ],
    [
      { nothing: null },
      'metadata.nothing',
      'Expected a string, number or boolean (metadata is flat key-value pairs: nest nothing, or send the value as a JSON string) for metadata.nothing but received null of type null',
    ],
    [
      { 'user id': 'x' },
      'metadata.user id',
      'Expected a key of 1–32 letters, digits, underscores, hyphens or dots for metadata.user id but received "user id" of type string',
    ],
  ])('refuses %j, naming the key and saying why', async (metadata, path, message) => {
    const res = await createWith(metadata);
    expect(res.status).toBe(400);
    expect((await res.json<ErrorAnswer>()).issues).toEqual([{ path, message }]);
  });
});
