import { createExecutionContext, createMessageBatch, getQueueResult, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import {
  BUSY_RETRY_BASE_S,
  BUSY_RETRY_MAX_S,
  CREATE_RETRY_MS,
  HEARTBEAT_TIMEOUT_MS,
  MAX_UNREACHABLE_DISPATCHES,
  SLOT_WAIT_BASE_S,
  SLOT_WAIT_MAX_S,
  TENANT_MAX_CONCURRENT_JOBS,
} from '../../../worker/constants.ts';
import { consumeDeadLetters, consumeJobs } from '../../../worker/dispatch/consumer.ts';
import { httpProcessor, type Processor } from '../../../worker/dispatch/processor.ts';
import type { JobState } from '../../../worker/job-object/state.ts';
import { jobStub, tenantStub } from '../../../worker/stubs.ts';
import { answering, api, createJob, processorDouble, report } from '../helpers.ts';

/** A valid CONNECTION_ENCRYPTION_KEY other than the development one: the key after a rotation. */
const ROTATED_KEY = btoa('another-32-byte-connection-key!!');

async function jobError(id: string) {
  return (await api(`/jobs/${id}`)).json<{ status: string; error: { kind: string; message: string } | null }>();
}

async function consume(body: unknown, processor: Processor, attempts = 1, withEnv: Env = env) {
  const batch = createMessageBatch('kiln-jobs', [{ id: 'msg-1', timestamp: new Date(), attempts, body }]);
  // getQueueResult drops the delay a retry asks for, so the spy records what the platform would get.
  const retry = vi.spyOn(batch.messages[0]!, 'retry');
  const ctx = createExecutionContext();
  await consumeJobs(batch, withEnv, processor);
  return { ...(await getQueueResult(batch, ctx)), retryDelaysS: retry.mock.calls.map(([options]) => options?.delaySeconds) };
}

const double = processorDouble();

/**
 * A queued job whose first run (attempt 1, dispatched at creation to the processor double) is
 * given back as busy, so the tests' messages of the job's generation start the next runs.
 */
async function queuedJob(
  body: Record<string, unknown> = {},
): Promise<{ id: string; message: { job_id: string; tenant: string; seq: number } }> {
  const { id } = await createJob(body);
  await double.waitForTasks(id);
  await jobStub(env, id).releaseClaim(1, 'busy', 'held back by the test');
  const state = (await jobStub(env, id).stored('dev')) as unknown as JobState;
  return { id, message: { job_id: id, tenant: 'dev', seq: state.seq } };
}

/** An S3 connection of the dev tenant, for jobs whose input goes through it. */
async function createConnection(): Promise<{ id: string }> {
  const created = await api('/connections', {
    method: 'POST',
    json: { endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', access_key_id: 'AKIAEXAMPLE', secret_access_key: 's3cret' },
  });
  return created.json<{ id: string }>();
}
describe('queue consumer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('acks a message whose run the processor accepted', async () => {
    const { message } = await queuedJob();
    const processor = answering({ outcome: 'accepted' });
    const result = await consume(message, processor);
    expect(result.explicitAcks).toEqual(['msg-1']);
    expect(result.retryMessages).toEqual([]);
  });

  it('does not start a second encode for a duplicate message', async () => {
    const { message } = await queuedJob();
    const processor = answering({ outcome: 'accepted' });
    await consume(message, processor);
    const second = await consume(message, processor);
    expect(processor.tasks).toHaveLength(1);
    expect(second.explicitAcks).toEqual(['msg-1']);
  });

  it('retries with a growing delay, honouring Retry-After, when the processor is busy', async () => {
    const { id, message } = await queuedJob();
    const delayAt = async (delivery: number, retryAfterS: number | null) => {
      const result = await consume(message, answering({ outcome: 'busy', retryAfterS, detail: 'full' }), delivery);
      expect(result.explicitAcks).toEqual([]);
      expect(result.retryMessages).toMatchObject([{ msgId: 'msg-1' }]);
      return result.retryDelaysS;
    };
    expect(await delayAt(1, null)).toEqual([BUSY_RETRY_BASE_S]);
    expect(await delayAt(4, null)).toEqual([BUSY_RETRY_BASE_S * 2 ** 3]);
    // The processor's Retry-After wins over a shorter backoff, but never over the cap.
    expect(await delayAt(1, 30)).toEqual([30]);
    expect(await delayAt(4, 30)).toEqual([BUSY_RETRY_BASE_S * 2 ** 3]);
    expect(await delayAt(1, BUSY_RETRY_MAX_S * 2)).toEqual([BUSY_RETRY_MAX_S]);
    expect(await delayAt(20, null)).toEqual([BUSY_RETRY_MAX_S]);
    const job = await (await api(`/jobs/${id}`)).json<{ status: string }>();
    expect(job.status).toBe('queued');
  });

  it('never reuses an attempt number (or its token) after a busy processor', async () => {
    const { message } = await queuedJob();
    const busy = answering({ outcome: 'busy', retryAfterS: null, detail: 'full' });
    const accepting = answering({ outcome: 'accepted' });
    await consume(message, busy);
    await consume(message, accepting);
    expect(accepting.tasks[0]!.attempt).toBe(busy.tasks[0]!.attempt + 1);
    expect(accepting.tasks[0]!.callback.token).not.toBe(busy.tasks[0]!.callback.token);
  });

  it('records a refused task as a failed job, then acks', async () => {
    const { id, message } = await queuedJob();
    const result = await consume(message, answering({ outcome: 'rejected', status: 400, detail: 'bad task' }));
    expect(result.explicitAcks).toEqual(['msg-1']);
    const job = await (await api(`/jobs/${id}`)).json<{ status: string; error: { kind: string } }>();
    expect(job.status).toBe('failed');
    expect(job.error.kind).toBe('processing_failed');
  });

  it("fails the job at once with the processor's own words when it is misconfigured", async () => {
    const { id, message } = await queuedJob();
    const said = 'The processor is misconfigured: KILN_MAX_INPUT_BYTES must be a positive number.';
    const result = await consume(message, answering({ outcome: 'unavailable', message: said }));
    expect(result.explicitAcks).toEqual(['msg-1']);
    const job = await (await api(`/jobs/${id}`)).json<{ status: string; error: { kind: string; message: string } }>();
    expect(job).toMatchObject({ status: 'failed', error: { kind: 'processor_unavailable', message: said } });
  });

  it(`fails with the last error after ${MAX_UNREACHABLE_DISPATCHES} dispatches that reached no processor, never staying queued`, async () => {
    const { id, message } = await queuedJob();
    const down = answering({ outcome: 'unreachable', detail: 'HTTP 500: Failed to start container: exit code 1' });
    for (let delivery = 1; delivery < MAX_UNREACHABLE_DISPATCHES; delivery++) {
      const result = await consume(message, down, delivery);
      expect(result.retryMessages).toMatchObject([{ msgId: 'msg-1' }]);
      expect((await (await api(`/jobs/${id}`)).json<{ status: string }>()).status).toBe('queued');
    }
    const last = await consume(message, down, MAX_UNREACHABLE_DISPATCHES);
    expect(last.explicitAcks).toEqual(['msg-1']);
    expect(last.retryMessages).toEqual([]);
    const job = await (await api(`/jobs/${id}`)).json<{ status: string; error: { kind: string; message: string } }>();
    expect(job.status).toBe('failed');
    expect(job.error.kind).toBe('processor_unavailable');
    expect(job.error.message).toContain('Failed to start container: exit code 1');
    const events = await (await api(`/jobs/${id}/events`)).json<{ type: string; detail: { reason?: string } }[]>();
    const unreachable = events.filter((e) => e.type === 'run_deferred' && e.detail.reason?.startsWith('unreachable:'));
    expect(unreachable).toHaveLength(MAX_UNREACHABLE_DISPATCHES - 1);
  });

  it('retries, naming both secrets, when a self-hosted processor refuses PROCESSOR_SECRET (one side of a rotation)', async () => {
    const { id, message } = await queuedJob();
    const result = await consume(message, httpProcessor(inject('processorDoubleUrl'), 'not-the-processor-secret-at-all'));
    expect(result.retryMessages).toMatchObject([{ msgId: 'msg-1' }]);
    const events = await (await api(`/jobs/${id}/events`)).json<{ type: string; detail: { reason: string } }[]>();
    expect(events.at(-1)).toMatchObject({
      type: 'run_deferred',
      detail: { reason: expect.stringMatching(/PROCESSOR_SECRET[\s\S]*KILN_PROCESSOR_SECRET/) },
    });
  });

  it('counts only unreachable dispatches in a row: a run that reports resets the count', async () => {
    const { id, message } = await queuedJob();
    const down = answering({ outcome: 'unreachable', detail: 'connection refused' });
    for (let delivery = 1; delivery < MAX_UNREACHABLE_DISPATCHES; delivery++) await consume(message, down, delivery);
    const up = answering({ outcome: 'accepted' });
    await consume(message, up);
    const [task] = up.tasks;
    expect((await report(task!, { type: 'progress', stage: 'import', progress: 10 })).status).toBe(200);
    await runInDurableObject(jobStub(env, id), (_instance, state) => {
      const doc = JSON.parse(state.storage.sql.exec<{ doc: string }>('SELECT doc FROM state').one().doc) as JobState;
      expect(doc.unreachableDispatches).toBe(0);
    });
  });

  it('a busy processor never counts towards that bound', async () => {
    const { id, message } = await queuedJob();
    const busy = answering({ outcome: 'busy', retryAfterS: null, detail: 'full' });
    for (let delivery = 1; delivery <= MAX_UNREACHABLE_DISPATCHES + 1; delivery++) await consume(message, busy, delivery);
    expect((await (await api(`/jobs/${id}`)).json<{ status: string }>()).status).toBe('queued');
  });

  it('acks stale and malformed messages without dispatching', async () => {
    const { id, message } = await queuedJob();
    await consume(message, answering({ outcome: 'accepted' }));
    // That run goes silent: the job moves on to generation 2, whose own message the double takes.
    vi.setSystemTime(Date.now() + HEARTBEAT_TIMEOUT_MS + 1);
    await runDurableObjectAlarm(jobStub(env, id));
    const processor = answering({ outcome: 'accepted' });
    const stale = await consume(message, processor);
    const malformed = await consume({ hello: 'world' }, processor);
    expect(stale.explicitAcks).toEqual(['msg-1']);
    expect(malformed.explicitAcks).toEqual(['msg-1']);
    expect(processor.tasks).toHaveLength(0);
  });

  it("keeps a job over its tenant's run slots queued and looks again with a fresh message, never a retry that could dead-letter it", async () => {
    const { id, message } = await queuedJob();
    // A tenant of its own whose slots other jobs hold, as on a tenant with a backlog.
    const tenant = `full-${id}`;
    for (let i = 0; i < TENANT_MAX_CONCURRENT_JOBS; i++)
      await tenantStub(env, tenant).acquireRunSlot(`job_other${i}`, TENANT_MAX_CONCURRENT_JOBS);
    const sent = vi.spyOn(env.JOB_QUEUE, 'send');
    const processor = answering({ outcome: 'accepted' });
    // The 11th delivery: retried once more, the queue (max_retries = 10) would dead-letter it.
    const first = await consume({ ...message, tenant }, processor, 11);
    expect(first.explicitAcks).toEqual(['msg-1']);
    expect(first.retryMessages).toEqual([]);
    // Each wait hands the job to the message it sends, of the job's next generation.
    const later = await consume({ ...message, seq: message.seq + 1, tenant, slot_waits: 8 }, processor);
    expect(later.explicitAcks).toEqual(['msg-1']);
    expect(processor.tasks).toHaveLength(0);
    expect(sent.mock.calls).toEqual([
      [{ ...message, seq: message.seq + 1, tenant, slot_waits: 1 }, { delaySeconds: SLOT_WAIT_BASE_S }],
      [{ ...message, seq: message.seq + 2, tenant, slot_waits: 9 }, { delaySeconds: SLOT_WAIT_MAX_S }],
    ]);
    sent.mockRestore();
    expect((await (await api(`/jobs/${id}`)).json<{ status: string }>()).status).toBe('queued');
    const events = await (await api(`/jobs/${id}/events`)).json<{ type: string; detail: { reason?: string } }[]>();
    expect(events.filter((e) => e.type === 'run_waiting')).toEqual([
      {
        at: expect.any(Number),
        type: 'run_waiting',
        detail: {
          reason: `${TENANT_MAX_CONCURRENT_JOBS} of this tenant's jobs are processing (TENANT_MAX_CONCURRENT_JOBS); this one starts when one of them ends`,
        },
      },
    ]);
  });

  it('queues a waiting job from its alarm within seconds when its next message cannot be sent', async () => {
    const { id, message } = await queuedJob();
    const tenant = `full-send-${id}`;
    for (let i = 0; i < TENANT_MAX_CONCURRENT_JOBS; i++)
      await tenantStub(env, tenant).acquireRunSlot(`job_other${i}`, TENANT_MAX_CONCURRENT_JOBS);
    const sent = vi.spyOn(env.JOB_QUEUE, 'send').mockRejectedValueOnce(new Error('the queue is unavailable'));
    const waited = await consume({ ...message, tenant }, answering({ outcome: 'accepted' }));
    // The wait is recorded and the message that waited is stale: acked, not retried.
    expect(waited.explicitAcks).toEqual(['msg-1']);
    expect(sent).toHaveBeenCalledTimes(1);
    vi.setSystemTime(Date.now() + CREATE_RETRY_MS + 1);
    await runDurableObjectAlarm(jobStub(env, id));
    expect(sent.mock.calls.slice(1).map(([body]) => body)).toEqual([{ job_id: id, tenant: 'dev', seq: message.seq + 1 }]);
    sent.mockRestore();
  });

  it('gives the run slot back when the processor cannot take the run', async () => {
    const { message } = await queuedJob();
    const tenant = `busy-${message.job_id}`;
    await consume({ ...message, tenant }, answering({ outcome: 'busy', retryAfterS: null, detail: 'full' }));
    expect(await tenantStub(env, tenant).acquireRunSlot('job_next', 1)).toBe(true);
  });

  it('fails the job with a reason when its message reaches the dead-letter queue', async () => {
    const { id, message } = await queuedJob();
    const batch = createMessageBatch('kiln-jobs-dlq', [{ id: 'dead-1', timestamp: new Date(), attempts: 1, body: message }]);
    const ctx = createExecutionContext();
    await consumeDeadLetters(batch, env);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(['dead-1']);
    const job = await (await api(`/jobs/${id}`)).json<{ status: string; error: { kind: string; message: string } }>();
    expect(job.status).toBe('failed');
    expect(job.error.kind).toBe('processor_busy');
  });

  describe('a run that cannot be prepared', () => {
    it('fails the job at once, naming the connection and the key, when CONNECTION_ENCRYPTION_KEY changed', async () => {
      const conn = await createConnection();
      const { id, message } = await queuedJob({ input: 's3://media/clip.mov', connection_id: conn.id });
      const processor = answering({ outcome: 'accepted' });
      const result = await consume(message, processor, 1, { ...env, CONNECTION_ENCRYPTION_KEY: ROTATED_KEY });
      expect(result.explicitAcks).toEqual(['msg-1']);
      expect(result.retryMessages).toEqual([]);
      expect(processor.tasks).toHaveLength(0);
      const job = await jobError(id);
      expect(job.status).toBe('failed');
      expect(job.error).toMatchObject({ kind: 'internal_error' });
      expect(job.error!.message).toMatch(
        new RegExp(
          `^The S3 connection ${conn.id} cannot be decrypted: it was sealed with key [0-9a-f]{16}, which is neither CONNECTION_ENCRYPTION_KEY nor listed in CONNECTION_ENCRYPTION_KEYS_PREVIOUS`,
        ),
      );
    });

    it('opens a connection sealed before a rotation with the key listed in CONNECTION_ENCRYPTION_KEYS_PREVIOUS', async () => {
      const conn = await createConnection();
      const { message } = await queuedJob({ input: 's3://media/clip.mov', connection_id: conn.id });
      const processor = answering({ outcome: 'accepted' });
      const rotated = {
        ...env,
        CONNECTION_ENCRYPTION_KEY: ROTATED_KEY,
        CONNECTION_ENCRYPTION_KEYS_PREVIOUS: env.CONNECTION_ENCRYPTION_KEY,
      };
      const result = await consume(message, processor, 1, rotated);
      expect(result.explicitAcks).toEqual(['msg-1']);
      expect(new URL(processor.tasks[0]!.input_url).pathname).toBe('/media/clip.mov');
    });

    it('fails the job at once when R2_S3_ENDPOINT is empty outside local development', async () => {
      const { id, message } = await queuedJob();
      const processor = answering({ outcome: 'accepted' });
      const production = { ...env, ALLOW_LOOPBACK: 'false', R2_S3_ENDPOINT: '' };
      const result = await consume(message, processor, 1, production);
      expect(result.explicitAcks).toEqual(['msg-1']);
      expect(processor.tasks).toHaveLength(0);
      const job = await jobError(id);
      expect(job.status).toBe('failed');
      expect(job.error).toMatchObject({ kind: 'internal_error' });
      expect(job.error!.message).toContain(
        'R2_S3_ENDPOINT is not set, so Kiln cannot sign storage URLs: set it in wrangler.toml [vars] to https://<ACCOUNT_ID>.r2.cloudflarestorage.com',
      );
    });

    it('fails the job at once, naming the variable, when presigning throws (a malformed R2_S3_ENDPOINT)', async () => {
      const { id, message } = await queuedJob();
      const result = await consume(message, answering({ outcome: 'accepted' }), 1, {
        ...env,
        R2_S3_ENDPOINT: 'acct.r2.cloudflarestorage.com',
      });
      expect(result.explicitAcks).toEqual(['msg-1']);
      const job = await jobError(id);
      expect(job.status).toBe('failed');
      expect(job.error!.message).toMatch(/^R2_S3_ENDPOINT is "acct\.r2\.cloudflarestorage\.com", not a URL; set it in wrangler\.toml/);
    });

    it('gives the claim back on a transient Durable Object error, so the redelivery really starts the run', async () => {
      const conn = await createConnection();
      const { id, message } = await queuedJob({ input: 's3://media/clip.mov', connection_id: conn.id });
      // The platform's own error for a Durable Object that was reset mid-call; it cannot be caused on demand here.
      const flaky = {
        ...env,
        TENANTS: {
          idFromName: (name: string) => env.TENANTS.idFromName(name),
          get: () => ({
            getConnection: async () => {
              throw Object.assign(new Error('Durable Object reset because its code was updated.'), { retryable: true });
            },
          }),
        },
      } as unknown as Env;
      const first = await consume(message, answering({ outcome: 'accepted' }), 1, flaky);
      expect(first.retryMessages).toMatchObject([{ msgId: 'msg-1' }]);
      expect(first.retryDelaysS).toEqual([BUSY_RETRY_BASE_S]);
      expect((await jobError(id)).status).toBe('queued');
      const processor = answering({ outcome: 'accepted' });
      const second = await consume(message, processor, 2);
      expect(second.explicitAcks).toEqual(['msg-1']);
      expect(processor.tasks).toHaveLength(1);
    });
  });
});
