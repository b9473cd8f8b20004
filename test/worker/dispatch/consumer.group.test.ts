import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import type { ProcessorGroupTask, ProcessorTask } from '../../../schemas/processor.ts';
import { TENANT_MAX_CONCURRENT_JOBS } from '../../../worker/constants.ts';
import { consumeDeadLetters, consumeJobs } from '../../../worker/dispatch/consumer.ts';
import type { QueueMessage } from '../../../worker/dispatch/message.ts';
import type { DispatchResult, Processor } from '../../../worker/dispatch/processor.ts';
import type { JobRequest, JobState } from '../../../worker/job-object/state.ts';
import { jobStub, tenantStub } from '../../../worker/stubs.ts';
import { newId } from '../../../worker/utils/ids.ts';
import { api, BASE, OUTPUT_INFO, report, VIDEO_JOB } from '../helpers.ts';

/** A processor answering `result` to every offer, remembering what came alone and what came as a group. */
function recording(result: DispatchResult, groupResult: DispatchResult = result) {
  const alone: ProcessorTask[] = [];
  const groups: ProcessorGroupTask[] = [];
  const processor: Processor = {
    async dispatch(task) {
      alone.push(task);
      return result;
    },
    async dispatchGroup(group) {
      groups.push(group);
      return groupResult;
    },
  };
  return { processor, alone, groups };
}

/** An input no other test uses, so only this test's jobs share it. */
function freshInput(): string {
  return `https://darkroom-app.com/uploads/${crypto.randomUUID()}.mov`;
}

/**
 * Queued jobs on `bodies`, stored straight in their Durable Objects with no queue message and no
 * dispatch at creation: only the tests' own messages (of each job's generation) start them.
 */
async function queuedJobs(bodies: Record<string, unknown>[]): Promise<{ id: string; message: QueueMessage }[]> {
  return Promise.all(
    bodies.map(async (body) => {
      const id = newId('job');
      const request = { ...VIDEO_JOB, ...body } as JobRequest;
      const state = await jobStub(env, id).create(
        {
          id,
          tenant: 'dev',
          origin: BASE,
          request,
          options: (request as { options?: Record<string, unknown> }).options ?? {},
          source: { type: 'url', url: request.input as string },
          target: { type: 'file', location: { type: 'kiln', key: `outputs/${id}/out` } },
          taskIds: ['task_p', 'task_i', 'task_e', 'task_x'].map((t) => `${t}${id.slice(4)}`),
          now: Date.now(),
        },
        { enqueue: false },
      );
      return { id, message: { job_id: id, tenant: 'dev', seq: (state as JobState).seq } };
    }),
  );
}

async function consume(bodies: unknown[], processor: Processor) {
  const batch = createMessageBatch(
    'kiln-jobs',
    bodies.map((body, i) => ({ id: `msg-${i}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await consumeJobs(batch, env, processor);
  return getQueueResult(batch, ctx);
}

async function status(id: string): Promise<string> {
  return (await (await api(`/jobs/${id}`)).json<{ status: string }>()).status;
}

const THUMBNAIL = { kind: 'image', options: { width: 320, format: 'webp' } };
const PREVIEW = { kind: 'video', options: { width: 480, format: 'mp4' } };

describe('coalescing in the queue consumer', () => {
  it('offers the jobs of one batch on one input as one group, each with its own attempt, token and output', async () => {
    const input = freshInput();
    const jobs = await queuedJobs([{ input }, { input, ...THUMBNAIL }, { input, ...PREVIEW }, { input: freshInput() }]);
    const { processor, alone, groups } = recording({ outcome: 'accepted' });
    const result = await consume(
      jobs.map((j) => j.message),
      processor,
    );
    expect(groups).toHaveLength(1);
    const tasks = groups[0]!.tasks;
    expect(tasks.map((t) => t.job_id)).toEqual(jobs.slice(0, 3).map((j) => j.id));
    expect(tasks.map((t) => t.kind)).toEqual(['video', 'image', 'video']);
    expect(new Set(tasks.map((t) => t.callback.token)).size).toBe(3);
    expect(new Set(tasks.map((t) => (t.output.type === 'file' ? t.output.url : '')))).toHaveProperty('size', 3);
    expect(tasks.every((t) => t.attempt === 1)).toBe(true);
    // The job on another input runs alone.
    expect(alone.map((t) => t.job_id)).toEqual([jobs[3]!.id]);
    expect(result.explicitAcks.sort()).toEqual(['msg-0', 'msg-1', 'msg-2', 'msg-3']);
    for (const { id } of jobs) expect(await status(id)).toBe('processing');
  });

  it('gives back every claim of a group the processor is busy for, and a later delivery runs each job with a new attempt', async () => {
    const input = freshInput();
    const jobs = await queuedJobs([{ input }, { input, ...THUMBNAIL }]);
    const busy = recording({ outcome: 'busy', retryAfterS: 30, detail: 'no free slot' });
    const result = await consume(
      jobs.map((j) => j.message),
      busy.processor,
    );
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((r) => r.msgId).sort()).toEqual(['msg-0', 'msg-1']);
    for (const { id } of jobs) expect(await status(id)).toBe('queued');
    const accepting = recording({ outcome: 'accepted' });
    await consume(
      jobs.map((j) => j.message),
      accepting.processor,
    );
    const before = busy.groups[0]!.tasks;
    const after = accepting.groups[0]!.tasks;
    expect(after.map((t) => t.attempt)).toEqual(before.map((t) => t.attempt + 1));
    expect(after.map((t) => t.callback.token)).not.toEqual(expect.arrayContaining([before[0]!.callback.token]));
  });

  it('offers a job once when its message comes twice in one batch', async () => {
    const input = freshInput();
    const [a, b] = await queuedJobs([{ input }, { input, ...THUMBNAIL }]);
    const { processor, alone, groups } = recording({ outcome: 'accepted' });
    const result = await consume([a!.message, b!.message, a!.message], processor);
    expect(groups.map((g) => g.tasks.map((t) => t.job_id))).toEqual([[a!.id, b!.id]]);
    expect(alone).toEqual([]);
    expect(result.explicitAcks.sort()).toEqual(['msg-0', 'msg-1', 'msg-2']);
  });

  it('claims the siblings a message names together, whatever else the batch holds', async () => {
    const input = freshInput();
    const [a, b, c] = await queuedJobs([{ input }, { input, ...THUMBNAIL }, { input, ...PREVIEW }]);
    const { processor, groups } = recording({ outcome: 'accepted' });
    const message: QueueMessage = { ...a!.message, siblings: [b!, c!].map((j) => ({ job_id: j.id, seq: j.message.seq })) };
    const result = await consume([message], processor);
    expect(groups.map((g) => g.tasks.map((t) => t.job_id))).toEqual([[a!.id, b!.id, c!.id]]);
    expect(result.explicitAcks).toEqual(['msg-0']);
  });

  it('offers the jobs one by one to a processor without POST /run-group (404)', async () => {
    const input = freshInput();
    const jobs = await queuedJobs([{ input }, { input, ...THUMBNAIL }]);
    const { processor, alone, groups } = recording({ outcome: 'accepted' }, { outcome: 'rejected', status: 404, detail: 'Not Found' });
    const result = await consume(
      jobs.map((j) => j.message),
      processor,
    );
    expect(groups).toHaveLength(1);
    expect(alone.map((t) => t.job_id)).toEqual(jobs.map((j) => j.id));
    expect(result.explicitAcks.sort()).toEqual(['msg-0', 'msg-1']);
    for (const { id } of jobs) expect(await status(id)).toBe('processing');
  });

  it('keeps each outcome to its own job: one fails, one is cancelled and told to stop, the other succeeds', async () => {
    const input = freshInput();
    const [a, b, c] = await queuedJobs([{ input }, { input, ...THUMBNAIL }, { input, ...PREVIEW }]);
    const { processor, groups } = recording({ outcome: 'accepted' });
    await consume([a!.message, b!.message, c!.message], processor);
    const [ta, tb, tc] = groups[0]!.tasks;
    expect((await api(`/jobs/${c!.id}/cancel`, { method: 'POST' })).status).toBe(200);
    const stopped = await report(tc!, { type: 'progress', stage: 'encode', progress: 40 });
    expect(stopped.status).toBe(409);
    expect(await stopped.json()).toEqual({ kind: 'cancelled', message: 'Stop this run: the job no longer needs it.' });
    expect((await report(ta!, { type: 'progress', stage: 'encode', progress: 40 })).status).toBe(200);
    const failure = { kind: 'processing_failed', message: 'The encoder for this output failed.' } as const;
    expect((await report(tb!, { type: 'failed', stage: 'encode', error: failure })).status).toBe(200);
    expect((await report(ta!, { type: 'succeeded', output: OUTPUT_INFO })).status).toBe(200);
    expect(await status(a!.id)).toBe('succeeded');
    expect(await (await api(`/jobs/${b!.id}`)).json()).toMatchObject({ status: 'failed', error: failure });
    expect(await status(c!.id)).toBe('cancelled');
  });

  it('fails only the jobs of a dead-lettered batch message that are not running', async () => {
    const input = freshInput();
    const [a, b] = await queuedJobs([{ input }, { input, ...THUMBNAIL }]);
    const { processor } = recording({ outcome: 'accepted' });
    await consume([a!.message], processor);
    const batch = createMessageBatch('kiln-jobs-dlq', [
      { id: 'dead', timestamp: new Date(), attempts: 11, body: { ...a!.message, siblings: [{ job_id: b!.id, seq: b!.message.seq }] } },
    ]);
    await consumeDeadLetters(batch, env);
    expect(await status(a!.id)).toBe('processing');
    expect(await (await api(`/jobs/${b!.id}`)).json()).toMatchObject({ status: 'failed', error: { kind: 'processor_busy' } });
  });

  it('leaves a sibling that went to wait for a run slot to its own message: the batch retried or dead-lettered for another never fails it', async () => {
    const input = freshInput();
    const [a, b] = await queuedJobs([{ input }, { input, ...THUMBNAIL }]);
    // A tenant of its own with one slot left: the first job takes it, the second waits.
    const tenant = `one-slot-${a!.id}`;
    for (let i = 0; i < TENANT_MAX_CONCURRENT_JOBS - 1; i++)
      await tenantStub(env, tenant).acquireRunSlot(`job_other${i}`, TENANT_MAX_CONCURRENT_JOBS);
    const sent = vi.spyOn(env.JOB_QUEUE, 'send');
    const message: QueueMessage = { ...a!.message, tenant, siblings: [{ job_id: b!.id, seq: b!.message.seq }] };
    const { processor, alone } = recording({ outcome: 'busy', retryAfterS: null, detail: 'every slot encoding' });
    const first = await consume([message], processor);
    expect(first.retryMessages).toEqual([{ msgId: 'msg-0' }]);
    expect(alone.map((t) => t.job_id)).toEqual([a!.id]);
    const waiting = { job_id: b!.id, tenant, seq: b!.message.seq + 1, slot_waits: 1 };
    expect(sent.mock.calls.map(([body]) => body)).toEqual([waiting]);
    // The batch message comes back for the first job; the second is no longer its to start.
    await consume([message], processor);
    expect(alone.map((t) => t.job_id)).toEqual([a!.id, a!.id]);
    expect(sent).toHaveBeenCalledTimes(1);
    sent.mockRestore();
    const dead = createMessageBatch('kiln-jobs-dlq', [{ id: 'dead', timestamp: new Date(), attempts: 11, body: message }]);
    await consumeDeadLetters(dead, env);
    expect(await (await api(`/jobs/${a!.id}`)).json()).toMatchObject({ status: 'failed', error: { kind: 'processor_busy' } });
    expect(await status(b!.id)).toBe('queued');
    // Its own message starts it once a slot is free (the first job's, given back when it failed).
    await consume([waiting], recording({ outcome: 'accepted' }).processor);
    expect(await status(b!.id)).toBe('processing');
  });
});
