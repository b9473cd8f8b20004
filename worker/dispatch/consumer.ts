import type { ProcessorTask } from '../../schemas/processor.ts';
import { type KilnConfig, readConfig } from '../config/index.ts';
import { BUSY_RETRY_BASE_S, BUSY_RETRY_MAX_S, SLOT_WAIT_BASE_S, SLOT_WAIT_MAX_S } from '../constants.ts';
import type { ClaimResult, JobState } from '../job-object/state.ts';
import { jobStub, tenantStub } from '../stubs.ts';
import { groupRuns } from './group.ts';
import { messageEntries, type QueueEntry, QueueMessage } from './message.ts';
import { type DispatchResult, type Processor, processorFor } from './processor.ts';
import { buildProcessorTask, preparationFailure } from './task.ts';

/** Delay before the n-th redelivery of a message the processor could not take yet. */
function busyRetryDelayS(deliveries: number, retryAfterS: number | null): number {
  const backoff = Math.min(BUSY_RETRY_BASE_S * 2 ** Math.max(0, deliveries - 1), BUSY_RETRY_MAX_S);
  return Math.min(Math.max(backoff, retryAfterS ?? 0), BUSY_RETRY_MAX_S);
}

/**
 * The entry found its tenant's run slots all taken. It comes back later as a fresh message (with
 * its wait count), not as a retry: a tenant's own backlog must never use up the retries that end
 * in the dead-letter queue, which would fail its jobs as if no processor could take them.
 */
async function waitForSlot(opts: { entry: QueueEntry; env: Env; job: ReturnType<typeof jobStub>; limit: number }): Promise<void> {
  const { entry, env } = opts;
  if ((await opts.job.waitForSlot(entry.seq, opts.limit)) === 'wait') {
    const waits = entry.slot_waits ?? 0;
    const delaySeconds = Math.min(SLOT_WAIT_BASE_S * 2 ** waits, SLOT_WAIT_MAX_S);
    await env.JOB_QUEUE.send({ ...entry, slot_waits: waits + 1 } satisfies QueueMessage, { delaySeconds });
  }
}

/** What becomes of one job's part of a message once its outcome is recorded on the job. */
type Verdict = { action: 'ack' } | { action: 'retry'; delayS: number };
const ACK: Verdict = { action: 'ack' };

/** A claimed run with its task built, ready to offer to the processor alone or in a group. */
interface Run {
  entry: QueueEntry;
  msg: Message<unknown>;
  state: JobState;
  attempt: number;
  task: ProcessorTask;
  job: ReturnType<typeof jobStub>;
  endRun: () => Promise<unknown>;
}

/**
 * Takes a run slot and claims the job's run for one entry, then builds its task: a Run, or the
 * verdict when the run does not go ahead (no slot, a stale or duplicate message, a task that
 * could not be prepared).
 */
async function claimEntry(opts: { entry: QueueEntry; msg: Message<unknown>; env: Env; config: KilnConfig }): Promise<Run | Verdict> {
  const { entry, msg, env, config } = opts;
  const job = jobStub(env, entry.job_id);
  const tenantObject = tenantStub(env, entry.tenant);
  const endRun = () => tenantObject.releaseRunSlot(entry.job_id);
  if (!(await tenantObject.acquireRunSlot(entry.job_id, config.limits.maxConcurrentJobs))) {
    await waitForSlot({ entry, env, job, limit: config.limits.maxConcurrentJobs });
    return ACK;
  }
  const claim = (await job.claim(entry.seq)) as ClaimResult;
  if (claim.action === 'skip') {
    // A stale or duplicate message leaves the slot to the job's current run or message.
    if (claim.reason === 'terminal' || claim.reason === 'missing') await endRun();
    return ACK;
  }
  try {
    const task = await buildProcessorTask({ state: claim.state, attempt: claim.attempt, config, tenant: tenantObject });
    return { entry, msg, state: claim.state, attempt: claim.attempt, task, job, endRun };
  } catch (err) {
    // The claim is held: a plain msg.retry would be skipped as a duplicate.
    const failure = preparationFailure(err);
    if ('retry' in failure) {
      await job.releaseClaim(claim.attempt, 'error', failure.retry.slice(0, 300));
      await endRun();
      return retryLater(msg);
    }
    await job.fail(failure.fail);
    await endRun();
    return ACK;
  }
}

/** Records on the run's job what the processor answered for it (alone or with its group). */
async function settle(run: Run, result: DispatchResult): Promise<Verdict> {
  const { job, endRun, msg } = run;
  switch (result.outcome) {
    case 'accepted':
      return ACK;
    case 'busy':
    case 'unreachable': {
      const next = await job.releaseClaim(run.attempt, result.outcome, result.detail.slice(0, 300));
      await endRun();
      if (next === 'failed') return ACK;
      return { action: 'retry', delayS: busyRetryDelayS(msg.attempts, result.outcome === 'busy' ? result.retryAfterS : null) };
    }
    case 'unavailable':
      await job.fail({ kind: 'processor_unavailable', message: result.message });
      await endRun();
      return ACK;
    case 'rejected':
      await job.fail({
        kind: 'processing_failed',
        message: `The processor refused the task (HTTP ${result.status}): ${result.detail}`,
      });
      await endRun();
      return ACK;
  }
}

/**
 * Offers runs to the processor: one alone, several on one input as one group. A processor that
 * does not know POST /run-group (404: a self-hosted one older than the Worker) gets them one by one.
 */
async function dispatchRuns(proc: Processor, runs: Run[]): Promise<DispatchResult[]> {
  if (runs.length === 1) return [await proc.dispatch(runs[0]!.task)];
  const result = await proc.dispatchGroup({ tasks: runs.map((r) => r.task) });
  if (result.outcome === 'rejected' && result.status === 404) return Promise.all(runs.map((r) => proc.dispatch(r.task)));
  return runs.map(() => result);
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
 * longest delay any asks for, if any is: a job already running skips the retry as a duplicate.
 */
export async function consumeJobs(batch: MessageBatch<unknown>, env: Env, processor?: Processor): Promise<void> {
  const config = readConfig(env);
  const proc = processor ?? processorFor(env, config);
  const verdicts = new Map<Message<unknown>, Verdict[]>();
  const runs: Run[] = [];
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
  for (const group of groupRuns(runs)) {
    const results = await orRetry(group[0]!.msg, group[0]!.entry.job_id, () => dispatchRuns(proc, group));
    for (const [i, run] of group.entries()) {
      const result = Array.isArray(results) ? results[i] : undefined;
      const verdict = result ? await orRetry(run.msg, run.entry.job_id, () => settle(run, result)) : retryLater(run.msg);
      verdicts.get(run.msg)?.push(verdict);
    }
  }
  for (const [msg, settled] of verdicts) {
    const retries = settled.filter((v) => v.action === 'retry');
    if (retries.length === 0) msg.ack();
    else msg.retry({ delaySeconds: Math.max(...retries.map((v) => v.delayS)) });
  }
}

/** The dead-letter queue's consumer: a message that exhausted its retries fails its jobs that are not running, with a reason. */
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
