import type { ProcessorTask } from '../../schemas/processor.ts';
import { readConfig } from '../config/index.ts';
import { BUSY_RETRY_BASE_S, BUSY_RETRY_MAX_S, SLOT_WAIT_BASE_S, SLOT_WAIT_MAX_S } from '../constants.ts';
import type { ClaimResult } from '../job-object/state.ts';
import { jobStub, tenantStub } from '../stubs.ts';
import { QueueMessage } from './message.ts';
import { type Processor, processorFor } from './processor.ts';
import { buildProcessorTask, preparationFailure } from './task.ts';

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
 * whenever the run does not go ahead and, once it has, when the job ends (TenantObject.indexJob).
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
    const job = jobStub(env, job_id);
    const tenantObject = tenantStub(env, tenant);
    const endRun = () => tenantObject.releaseRunSlot(job_id);
    try {
      if (!(await tenantObject.acquireRunSlot(job_id, config.limits.maxConcurrentJobs))) {
        await waitForSlot({ msg, message: parsed.data, env, job, limit: config.limits.maxConcurrentJobs });
        continue;
      }
      const claim = (await job.claim(seq)) as ClaimResult;
      if (claim.action === 'skip') {
        // A stale or duplicate message leaves the slot to the job's current run or message.
        if (claim.reason === 'terminal' || claim.reason === 'missing') await endRun();
        msg.ack();
        continue;
      }
      let task: ProcessorTask;
      try {
        task = await buildProcessorTask({
          state: claim.state,
          attempt: claim.attempt,
          config,
          tenant: tenantObject,
        });
      } catch (err) {
        // The claim is held: a plain msg.retry would be skipped as a duplicate.
        const failure = preparationFailure(err);
        if ('retry' in failure) {
          await job.releaseClaim(claim.attempt, 'error', failure.retry.slice(0, 300));
          await endRun();
          msg.retry({ delaySeconds: busyRetryDelayS(msg.attempts, null) });
        } else {
          await job.fail(failure.fail);
          await endRun();
          msg.ack();
        }
        continue;
      }
      const result = await proc.dispatch(task);
      switch (result.outcome) {
        case 'accepted':
          msg.ack();
          break;
        case 'busy':
        case 'unreachable': {
          const next = await job.releaseClaim(claim.attempt, result.outcome, result.detail.slice(0, 300));
          await endRun();
          if (next === 'failed') msg.ack();
          else msg.retry({ delaySeconds: busyRetryDelayS(msg.attempts, result.outcome === 'busy' ? result.retryAfterS : null) });
          break;
        }
        case 'unavailable':
          await job.fail({ kind: 'processor_unavailable', message: result.message });
          await endRun();
          msg.ack();
          break;
        case 'rejected':
          await job.fail({
            kind: 'processing_failed',
            message: `The processor refused the task (HTTP ${result.status}): ${result.detail}`,
          });
          await endRun();
          msg.ack();
          break;
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
