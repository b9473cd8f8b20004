import { createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { consumeJobs } from '../../../worker/dispatch/consumer.ts';
import type { Processor } from '../../../worker/dispatch/processor.ts';
import { dispatchNow } from '../../../worker/dispatch/start.ts';
import worker from '../../../worker/index.ts';
import type { JobState } from '../../../worker/job-object/state.ts';
import { jobStub } from '../../../worker/stubs.ts';
import { newId } from '../../../worker/utils/ids.ts';
import { answering, api, BASE, KEY, processorDouble, VIDEO_JOB } from '../helpers.ts';

const double = processorDouble();

/** POST /jobs; `settled` resolves once the work the request left to waitUntil (the direct dispatch) is done. */
async function send(body: Record<string, unknown> = VIDEO_JOB): Promise<{ id: string; settled: Promise<unknown> }> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`${BASE}/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
    env,
    ctx,
  );
  expect(res.status).toBe(201);
  return { id: (await res.json<{ id: string }>()).id, settled: waitOnExecutionContext(ctx) };
}

/** POST /jobs, waiting for the direct dispatch as well. */
async function submit(body?: Record<string, unknown>): Promise<string> {
  const { id, settled } = await send(body);
  await settled;
  return id;
}

async function consume(body: unknown, processor: Processor) {
  const batch = createMessageBatch('kiln-jobs', [{ id: 'msg-1', timestamp: new Date(), attempts: 1, body }]);
  const ctx = createExecutionContext();
  await consumeJobs(batch, env, processor);
  return getQueueResult(batch, ctx);
}

async function eventTypes(id: string): Promise<string[]> {
  return (await (await api(`/jobs/${id}/events`)).json<{ type: string }[]>()).map((e) => e.type);
}

describe('dispatch at creation', () => {
  it("starts a new job's run as the request ends, without waiting for the queue to deliver its message", async () => {
    const id = await submit();
    const tasks = await double.tasks(id);
    expect(tasks.map((t) => t.attempt)).toEqual([1]);
    expect((await (await api(`/jobs/${id}`)).json<{ status: string }>()).status).toBe('processing');
  });

  it('does not run a job dispatched at creation again when its queue message arrives, nor for a duplicate of the current generation', async () => {
    const id = await submit();
    const state = (await jobStub(env, id).stored('dev')) as unknown as JobState;
    const processor = answering({ outcome: 'accepted' });
    for (const seq of [1, state.seq]) {
      const result = await consume({ job_id: id, tenant: 'dev', seq }, processor);
      expect(result.explicitAcks).toEqual(['msg-1']);
      expect(result.retryMessages).toEqual([]);
    }
    expect(processor.tasks).toEqual([]);
    expect((await double.tasks(id)).length).toBe(1);
    expect((await eventTypes(id)).filter((t) => t === 'run_started')).toHaveLength(1);
  });

  it('gives a run the processor refused as busy back to the queue, which then runs it once', async () => {
    const id = newId('job');
    // An image job on an input of its own: dispatched at once, with no window to wait out.
    const request = {
      input: `https://darkroom-app.com/uploads/${crypto.randomUUID()}.jpg`,
      kind: 'image',
      options: { width: 64 },
    } as const;
    const state = (await jobStub(env, id).create({
      id,
      tenant: 'dev',
      origin: BASE,
      request,
      options: request.options,
      source: { type: 'url', url: request.input },
      target: { type: 'file', location: { type: 'kiln', key: `outputs/${id}/out.jpg` } },
      taskIds: ['task_p', 'task_i', 'task_e', 'task_x'].map((t) => `${t}${id.slice(4)}`),
      now: Date.now(),
    })) as JobState;
    const busy = answering({ outcome: 'busy', retryAfterS: null, detail: 'every slot taken' });
    expect(await dispatchNow(env, state, busy)).toEqual({ outcome: 'deferred', retryAfterS: null });
    expect(busy.tasks.map((t) => t.attempt)).toEqual([1]);
    expect(await eventTypes(id)).toEqual(['created', 'run_started', 'run_deferred']);
    expect((await (await api(`/jobs/${id}`)).json<{ status: string }>()).status).toBe('queued');
    // The message sent at creation is stale by now; the one sent when the run was given back starts it.
    const tasks = await double.waitForTasks(id);
    expect(tasks.map((t) => t.attempt)).toEqual([2]);
    expect((await eventTypes(id)).filter((t) => t === 'run_started')).toHaveLength(2);
  });

  it('starts jobs on one input sent one after another as one run, and an image job with no sibling at once', async () => {
    const input = `https://darkroom-app.com/uploads/${crypto.randomUUID()}.mov`;
    const hd = await send({ input, kind: 'video', options: { width: 1280 } });
    const thumbnail = await send({ input, kind: 'image', options: { width: 320, start: 1 } });
    const preview = await send({ input, kind: 'video', options: { width: 480, quality: 'low' } });
    await Promise.all([hd.settled, thumbnail.settled, preview.settled]);
    expect(await double.groups(hd.id)).toEqual([[hd.id, thumbnail.id, preview.id]]);
    for (const { id } of [hd, thumbnail, preview]) {
      expect((await double.tasks(id)).map((t) => t.attempt)).toEqual([1]);
      expect((await eventTypes(id)).filter((t) => t === 'run_started')).toHaveLength(1);
    }
    // A photo's job opens no window: it starts alone, without waiting for siblings that may never come.
    const photo = await submit({
      input: `https://darkroom-app.com/uploads/${crypto.randomUUID()}.jpg`,
      kind: 'image',
      options: { width: 64 },
    });
    expect(await double.groups(photo)).toEqual([]);
    expect((await double.tasks(photo)).map((t) => t.attempt)).toEqual([1]);
  });
});
