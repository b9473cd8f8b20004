import { readConfig } from '../config/index.ts';
import { BUSY_RETRY_BASE_S, BUSY_RETRY_MAX_S, SLOT_WAIT_BASE_S, SLOT_WAIT_MAX_S } from '../constants.ts';
import type { ClaimResult } from '../job-object/state.ts';
import { jobStub } from '../stubs.ts';
import { QueueMessage } from './message.ts';
import { type Processor, processorFor } from './processor.ts';
import { startRun } from './start.ts';

/** Delay before the n-th redelivery of a message the processor could not take yet. */
function busyRetryDelayS(deliveries: number, retryAfterS: number | null): number {
  const backoff = Math.min(BUSY_RETRY_BASE_S * 2 ** Math.max(0, deliveries - 1), BUSY_RETRY_MAX_S);
  return Math.min(Math.max(backoff, retryAfterS ?? 0), BUSY_RETRY_MAX_S);
}

/**
 * The message found its tenant's run slots all taken. It comes back later as a fresh message (with
 * its wait count), not as a retry: a tenant's own backlog must never use up the retries that end
 * in the dead-letter queue, which would fail its jobs as if no processor could take them.
 */
async function waitForSlot(opts: {
  msg: Message<unknown>;
  message: QueueMessage;
  env: Env;
  job: ReturnType<typeof jobStub>;
  limit: number;
}): Promise<void> {
  const { msg, message, env } = opts;
  if ((await opts.job.waitForSlot(message.seq, opts.limit)) === 'wait') {
    const waits = message.slot_waits ?? 0;
    const delaySeconds = Math.min(SLOT_WAIT_BASE_S * 2 ** waits, SLOT_WAIT_MAX_S);
    await env.JOB_QUEUE.send({ ...message, slot_waits: waits + 1 } satisfies QueueMessage, { delaySeconds });
  }
  msg.ack();
}

/**
 * The job queue's consumer. Each message is acked only after its outcome is recorded on the job:
 * a started run, a recorded failure, or a skip (stale/duplicate/finished). A busy or unreachable
 * processor is retried with a delay, so messages that run out of retries reach the dead-letter queue.
 * A run starts only with one of its tenant's run slots (TENANT_MAX_CONCURRENT_JOBS), given back
 * whenever the run does not go ahead and, once it has, when the job ends (TenantObject.indexJob):
 * see {@link startRun}, which the dispatch at a job's creation shares.
 */
export async function consumeJobs(batch: MessageBatch<unknown>, env: Env, processor?: Processor): Promise<void> {
  const config = readConfig(env);
  const proc = processor ?? processorFor(env, config);
  for (const msg of batch.messages) {
    const parsed = QueueMessage.safeParse(msg.body);
    if (!parsed.success) {
      console.error('dropping malformed queue message', msg.id, parsed.error.message);
      msg.ack();
      continue;
    }
    const { job_id, tenant, seq } = parsed.data;
    try {
      const started = await startRun({
        env,
        config,
        processor: proc,
        jobId: job_id,
        tenant,
        claim: (job) => job.claim(seq) as Promise<ClaimResult>,
      });
      if (started.outcome === 'no_slot') {
        await waitForSlot({ msg, message: parsed.data, env, job: jobStub(env, job_id), limit: config.limits.maxConcurrentJobs });
      } else if (started.outcome === 'deferred') {
        msg.retry({ delaySeconds: busyRetryDelayS(msg.attempts, started.retryAfterS) });
      } else {
        msg.ack();
      }
    } catch (err) {
      console.error('queue consumer error; will retry', job_id, err);
      msg.retry({ delaySeconds: busyRetryDelayS(msg.attempts, null) });
    }
  }
}

/** The dead-letter queue's consumer: a message that exhausted its retries fails its job, with a reason. */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const msg of batch.messages) {
    const parsed = QueueMessage.safeParse(msg.body);
    if (!parsed.success) {
      msg.ack();
      continue;
    }
    const job = jobStub(env, parsed.data.job_id);
    await job.fail(
      {
        kind: 'processor_busy',
        message:
          'No processor could take the job after repeated attempts over about 40 minutes. Submit it again; if this persists, raise max_instances for the processor.',
      },
      parsed.data.seq,
    );
    msg.ack();
  }
}
