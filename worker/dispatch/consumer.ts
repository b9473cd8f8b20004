import { type KilnConfig, readConfig } from '../config/index.ts';
import { BUSY_RETRY_BASE_S, BUSY_RETRY_MAX_S, SLOT_WAIT_BASE_S, SLOT_WAIT_MAX_S } from '../constants.ts';
import type { ClaimResult } from '../job-object/state.ts';
import { jobStub } from '../stubs.ts';
import { groupRuns } from './group.ts';
import { messageEntries, type QueueEntry, QueueMessage } from './message.ts';
import { type Processor, processorFor } from './processor.ts';
import { claimForRun, dispatchRuns, type Run, type StartOutcome, settleRun } from './start.ts';

/** Delay before the n-th redelivery of a message the processor could not take yet. */
function busyRetryDelayS(deliveries: number, retryAfterS: number | null): number {
  const backoff = Math.min(BUSY_RETRY_BASE_S * 2 ** Math.max(0, deliveries - 1), BUSY_RETRY_MAX_S);
  return Math.min(Math.max(backoff, retryAfterS ?? 0), BUSY_RETRY_MAX_S);
}

/**
 * The entry found its tenant's run slots all taken. It comes back later as a fresh message of the
 * job's new generation (with its wait count), sent by the job (JobObject.requeueForSlot), not as
 * a retry: a tenant's own backlog must never use up the retries that end in the dead-letter queue,
 * which would fail its jobs as if no processor could take them. The entry leaves any batch message
 * it came in (see waitForSlot in worker/job-object/state.ts).
 */
async function waitForSlot(opts: { entry: QueueEntry; job: ReturnType<typeof jobStub>; limit: number }): Promise<void> {
  const waits = opts.entry.slot_waits ?? 0;
  const delayS = Math.min(SLOT_WAIT_BASE_S * 2 ** waits, SLOT_WAIT_MAX_S);
  await opts.job.requeueForSlot(opts.entry, { limit: opts.limit, slotWaits: waits + 1, delayS });
}

/** What becomes of one job's part of a message once its outcome is recorded on the job. */
type Verdict = { action: 'ack' } | { action: 'retry'; delayS: number };
const ACK: Verdict = { action: 'ack' };

/** A claimed run and the message its job came in. */
type MessageRun = Run & { msg: Message<unknown> };

/** The message's verdict for a job whose start went as `started` (claimForRun, settleRun). */
function verdictOf(started: StartOutcome, msg: Message<unknown>): Verdict {
  return started.outcome === 'deferred' ? { action: 'retry', delayS: busyRetryDelayS(msg.attempts, started.retryAfterS) } : ACK;
}

/**
 * Claims one entry's run (claimForRun, shared with the dispatch at creation): a MessageRun, or
 * the verdict when the run does not go ahead; an entry that found no run slot waits for one.
 */
async function claimEntry(opts: { entry: QueueEntry; msg: Message<unknown>; env: Env; config: KilnConfig }): Promise<MessageRun | Verdict> {
  const { entry, msg, env, config } = opts;
  const claimed = await claimForRun({
    env,
    config,
    jobId: entry.job_id,
    tenant: entry.tenant,
    claim: (job) => job.claim(entry.seq) as Promise<ClaimResult>,
  });
  if ('task' in claimed) return { ...claimed, msg };
  if (claimed.outcome === 'no_slot') {
    await waitForSlot({ entry, job: jobStub(env, entry.job_id), limit: config.limits.maxConcurrentJobs });
    return ACK;
  }
  return verdictOf(claimed, msg);
}

/** A step that throws is retried: its outcome is not recorded, so the message must come back. */
async function orRetry<T>(msg: Message<unknown>, jobId: string, step: () => Promise<T | Verdict>): Promise<T | Verdict> {
  try {
    return await step();
  } catch (err) {
    console.error('queue consumer error; will retry', jobId, err);
    return retryLater(msg);
  }
}

/** Another delivery after the usual backoff, for an outcome that could not be recorded. */
function retryLater(msg: Message<unknown>): Verdict {
  return { action: 'retry', delayS: busyRetryDelayS(msg.attempts, null) };
}

/**
 * The job queue's consumer. Each message is acked only after the outcome of each of its jobs is
 * recorded on the job: a started run, a recorded failure, or a skip (stale/duplicate/finished). A
 * busy or unreachable processor is retried with a delay, so messages that run out of retries
 * reach the dead-letter queue. A run starts only with one of its tenant's run slots
 * (TENANT_MAX_CONCURRENT_JOBS), given back whenever the run does not go ahead and, once it has,
 * when the job ends (TenantObject.indexJob).
 *
 * Every job is claimed on its own (its own slot, attempt and token); the runs of one batch that
 * read the same input (coalesceKey in ./group.ts) are then offered to the processor as one group,
 * and whatever it answers is recorded on each job as if it had been offered alone. A message
 * naming several jobs (POST /jobs/batch) is acked once all of them are, and retried, with the
 * longest delay any asks for, if any is: a job already running skips the retry as a duplicate, and
 * one that went to wait for a run slot as stale (its own message carries it now).
 */
export async function consumeJobs(batch: MessageBatch<unknown>, env: Env, processor?: Processor): Promise<void> {
  const config = readConfig(env);
  const proc = processor ?? processorFor(env, config);
  const verdicts = new Map<Message<unknown>, Verdict[]>();
  const runs: MessageRun[] = [];
  for (const msg of batch.messages) {
    const parsed = QueueMessage.safeParse(msg.body);
    if (!parsed.success) {
      console.error('dropping malformed queue message', msg.id, parsed.error.message);
      msg.ack();
      continue;
    }
    const settled: Verdict[] = [];
    verdicts.set(msg, settled);
    for (const entry of messageEntries(parsed.data)) {
      const claimed = await orRetry(msg, entry.job_id, () => claimEntry({ entry, msg, env, config }));
      if ('task' in claimed) runs.push(claimed);
      else settled.push(claimed);
    }
  }
  // All at once: every run is claimed by now, and a dispatch can wait up to DISPATCH_TIMEOUT_MS for
  // a cold container; one after another, the last claims could outlast the heartbeat watchdog.
  await Promise.all(
    groupRuns(runs).map(async (group) => {
      const results = await orRetry(group[0]!.msg, group[0]!.jobId, () => dispatchRuns(proc, group));
      for (const [i, run] of group.entries()) {
        const result = Array.isArray(results) ? results[i] : undefined;
        const verdict = result
          ? await orRetry(run.msg, run.jobId, async () => verdictOf(await settleRun(run, result), run.msg))
          : retryLater(run.msg);
        verdicts.get(run.msg)?.push(verdict);
      }
    }),
  );
  for (const [msg, settled] of verdicts) {
    const retries = settled.filter((v) => v.action === 'retry');
    if (retries.length === 0) msg.ack();
    else msg.retry({ delaySeconds: Math.max(...retries.map((v) => v.delayS)) });
  }
}

/**
 * The dead-letter queue's consumer: a message that exhausted its retries fails, with a reason, its
 * jobs that are still its to start: not running, and of its generation (failJob ignores a job that
 * has moved on, such as a batch sibling now waiting for a run slot under a message of its own).
 */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const msg of batch.messages) {
    const parsed = QueueMessage.safeParse(msg.body);
    if (!parsed.success) {
      msg.ack();
      continue;
    }
    for (const entry of messageEntries(parsed.data)) {
      const job = jobStub(env, entry.job_id);
      // A job of a batch message may be running: its sibling's retries ran out, not its own.
      if (await job.hasCurrentRun()) continue;
      await job.fail(
        {
          kind: 'processor_busy',
          message:
            'No processor could take the job after repeated attempts over about 40 minutes. Submit it again; if this persists, raise max_instances for the processor.',
        },
        entry.seq,
      );
    }
    msg.ack();
  }
}
