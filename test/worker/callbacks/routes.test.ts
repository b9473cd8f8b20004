import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { ProcessorTask } from '../../../schemas/processor.ts';
import { createJob, processorDouble } from '../helpers.ts';

const processor = processorDouble();

/** Just over CALLBACK_BODY_MAX_BYTES. */
const OVERSIZED = 4 * 1024 * 1024 + 1;

function post(url: string, token: string, body: BodyInit): Promise<Response> {
  return exports.default.fetch(
    new Request(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body }),
  );
}

describe('processor callbacks read nothing before the token checks out', () => {
  it('answers 401, not 400, to a wrong token with a body that is not JSON', async () => {
    const job = await createJob();
    const [task] = await processor.waitForTasks(job.id);
    const res = await post(task!.callback.url, 'f'.repeat(64), '{not json');
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ kind: 'unauthorized', message: 'The callback token does not match this job and attempt.' });
  });

  it('answers 401 to a wrong token with an oversized body, and 413 to the right token with one', async () => {
    const job = await createJob();
    const [task] = await processor.waitForTasks(job.id);
    const huge = `{"type":"progress","attempt":1,"stage":"import","progress":1,"pad":"${'a'.repeat(OVERSIZED)}"}`;
    expect((await post(task!.callback.url, 'f'.repeat(64), huge)).status).toBe(401);
    const res = await post(task!.callback.url, task!.callback.token, huge);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      kind: 'payload_too_large',
      message: 'The request body is larger than 4 MiB; send a smaller JSON body.',
    });
  });

  it('refuses a body whose attempt is not the one its URL and token name', async () => {
    const job = await createJob();
    const [task] = await processor.waitForTasks(job.id);
    const body = JSON.stringify({ type: 'progress', attempt: 2, stage: 'import', progress: 1 });
    expect((await post(task!.callback.url, task!.callback.token, body)).status).toBe(401);
    const noAttempt = task!.callback.url.replace(/\?attempt=\d+$/, '');
    const unnamed = await post(
      noAttempt,
      task!.callback.token,
      JSON.stringify({ type: 'progress', attempt: 1, stage: 'import', progress: 1 }),
    );
    expect(unnamed.status).toBe(401);
  });

  it('refuses a processor error message longer than its limit with 400 naming the field', async () => {
    const job = await createJob();
    const [task] = (await processor.waitForTasks(job.id)) as ProcessorTask[];
    const body = JSON.stringify({
      type: 'failed',
      attempt: 1,
      stage: 'encode',
      error: { kind: 'processing_failed', message: 'x'.repeat(20_000) },
    });
    const res = await post(task!.callback.url, task!.callback.token, body);
    expect(res.status).toBe(400);
    expect((await res.json<{ issues: { path: string }[] }>()).issues[0]?.path).toBe('error.message');
  });
});
