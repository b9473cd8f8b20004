import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { JobObject } from '../../../worker/job-object/index.ts';
import { jobStub } from '../../../worker/stubs.ts';
import { api, processorDouble } from '../helpers.ts';

const processor = processorDouble();

type Problem = { kind: string; message: string; issues: { path: string; message: string }[] };

/** The seed's three outputs of one upload: HD MP4, WebP thumbnail at 2 s, 480p preview. */
const SEED_OUTPUTS = [
  { kind: 'video', options: { width: 1920, format: 'mp4', quality: 'high' }, metadata: { role: 'hd' } },
  { kind: 'image', options: { format: 'webp', width: 320, start: 2 }, metadata: { role: 'thumbnail' } },
  {
    kind: 'video',
    options: { width: 854, format: 'mp4', quality: 'low' },
    metadata: { role: 'preview' },
    webhook_url: 'https://darkroom-app.com/hooks/preview',
  },
];

function batch(body: Record<string, unknown>, init: RequestInit = {}) {
  return api('/jobs/batch', { method: 'POST', json: body, ...init });
}

function freshInput(): string {
  return `https://darkroom-app.com/uploads/${crypto.randomUUID()}.mov`;
}

const realCreate = JobObject.prototype.create;
afterEach(() => {
  JobObject.prototype.create = realCreate;
});

describe('POST /jobs/batch', () => {
  it('creates one job per output, in order, and runs them as one group', async () => {
    const input = freshInput();
    const res = await batch({ input, outputs: SEED_OUTPUTS });
    expect(res.status).toBe(201);
    const jobs = await res.json<{ id: string; object: string; kind: string; status: string; input: string; metadata: unknown }[]>();
    expect(jobs.map((j) => [j.object, j.kind, j.status, j.input])).toEqual([
      ['job', 'video', 'queued', input],
      ['job', 'image', 'queued', input],
      ['job', 'video', 'queued', input],
    ]);
    expect(jobs.map((j) => j.metadata)).toEqual(SEED_OUTPUTS.map((o) => o.metadata));
    expect(new Set(jobs.map((j) => j.id)).size).toBe(3);
    const preview = await (await api(`/jobs/${jobs[2]!.id}`)).json<{ webhook_url: string; options: { width: number } }>();
    expect(preview).toMatchObject({ webhook_url: SEED_OUTPUTS[2]!.webhook_url, options: { width: 854 } });
    const ids = jobs.map((j) => j.id);
    await processor.waitForTasks(ids[2]!);
    for (const id of ids) expect(await processor.groups(id)).toEqual([ids]);
  });

  it('fails the jobs it stored when one could not be, without webhooks, so the 500 leaves nothing to run twice', async () => {
    // One Durable Object call fails (a reset object, a dropped connection); the others store their job.
    JobObject.prototype.create = async function createOrFail(this: JobObject, n, opts) {
      if (n.request.kind === 'image') throw new Error('Durable Object reset because its code was updated.');
      return realCreate.call(this, n, opts);
    };
    const run = crypto.randomUUID();
    const outputs = SEED_OUTPUTS.map((o) => ({ ...o, metadata: { ...o.metadata, run } }));
    const res = await batch({ input: freshInput(), outputs });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ kind: 'internal_error' });
    JobObject.prototype.create = realCreate;
    const stored = await (await api(`/jobs?metadata[run]=${run}`)).json<{ id: string; status: string; error: unknown }[]>();
    expect(stored).toHaveLength(2);
    for (const job of stored) {
      expect(job).toMatchObject({
        status: 'failed',
        error: { kind: 'internal_error', message: expect.stringContaining('none of them runs and the request answered 500') },
      });
      expect(await processor.tasks(job.id)).toEqual([]);
    }
    // No webhook about jobs the caller never saw: the preview's receiver hears only of the batch it
    // sends again. Nothing is waiting in either job's outbox.
    for (const job of stored) {
      const waiting = await runInDurableObject(jobStub(env, job.id), (_, state) =>
        state.storage.sql.exec('SELECT event_id FROM outbox').toArray(),
      );
      expect(waiting).toEqual([]);
    }
  });

  it('names the output an invalid option belongs to', async () => {
    const outputs = [SEED_OUTPUTS[0], { kind: 'image', options: { width: 0 } }];
    const res = await batch({ input: freshInput(), outputs });
    expect(res.status).toBe(400);
    const body = await res.json<Problem>();
    expect(body.kind).toBe('invalid_input');
    expect(body.issues).toEqual([
      { path: 'outputs[1].options.width', message: 'Expected a number >= 1 for outputs[1].options.width but received 0 of type number' },
    ]);
  });

  it('names the output whose destination is refused, and creates none of the jobs', async () => {
    const input = freshInput();
    const outputs = [SEED_OUTPUTS[0], { ...SEED_OUTPUTS[1], output: 's3://bucket/thumbs/' }];
    const res = await batch({ input, outputs });
    expect(res.status).toBe(400);
    expect((await res.json<Problem>()).issues).toEqual([
      { path: 'outputs[1].output', message: 'Expected s3://bucket/key for outputs[1].output, not a prefix ending in /' },
    ]);
    const listed = await (await api(`/jobs?input=${encodeURIComponent(input)}`)).json<unknown[]>();
    expect(listed).toEqual([]);
  });

  it('refuses fewer than two or more than eight outputs, and fields outside an output', async () => {
    const one = await (await batch({ input: freshInput(), outputs: [SEED_OUTPUTS[0]] })).json<Problem>();
    expect(one.issues).toEqual([
      { path: 'outputs', message: expect.stringMatching(/^Expected an array of length >= 2 for outputs but received/) },
    ]);
    const nine = await (await batch({ input: freshInput(), outputs: Array(9).fill(SEED_OUTPUTS[0]) })).json<Problem>();
    expect(nine.issues).toEqual([
      { path: 'outputs', message: expect.stringMatching(/^Expected an array of length <= 8 for outputs but received/) },
    ]);
    const stray = await (
      await batch({ input: freshInput(), outputs: [{ ...SEED_OUTPUTS[0], input: 'x' }, SEED_OUTPUTS[1]] })
    ).json<Problem>();
    expect(stray.issues).toEqual([
      { path: 'outputs[0].input', message: 'Unknown field outputs[0].input; remove it or check its spelling' },
    ]);
  });

  it('refuses an Idempotency-Key rather than ignore it', async () => {
    const res = await batch({ input: freshInput(), outputs: SEED_OUTPUTS }, { headers: { 'idempotency-key': 'k1' } });
    expect(res.status).toBe(400);
    expect((await res.json<Problem>()).issues).toEqual([
      {
        path: 'headers.idempotency-key',
        message: 'Idempotency-Key is not supported by POST /jobs/batch; send the request without it, or create each job with POST /jobs',
      },
    ]);
  });
});
