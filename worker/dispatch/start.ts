import type { ProcessorTask } from '../../schemas/processor.ts';
import { type KilnConfig, readConfig } from '../config/index.ts';
import type { ClaimResult, JobState } from '../job-object/state.ts';
import { jobStub, tenantStub } from '../stubs.ts';
import { type Processor, processorFor } from './processor.ts';
import { buildProcessorTask, preparationFailure } from './task.ts';

/**
 * How an attempt to start a job's run went. `no_slot`: the tenant's run slots were all taken and
 * nothing changed. `deferred`: the processor could not take the run (or preparing it hit a
 * transient error) and the claim was given back, to try again later. `done`: the run started,
 * the claim was skipped (stale, duplicate, finished), or a failure was recorded on the job.
 */
export type StartOutcome = { outcome: 'no_slot' } | { outcome: 'deferred'; retryAfterS: number | null } | { outcome: 'done' };

/**
 * Starts a job's run if it may: takes one of its tenant's run slots (TENANT_MAX_CONCURRENT_JOBS),
 * claims the run with `claim`, and dispatches it. The slot is given back whenever the run does
 * not go ahead and, once it has, when the job ends (TenantObject.indexJob). Shared by the queue
 * consumer (claiming its message's generation) and the dispatch from the job's creation
 * ({@link dispatchNow}); `requeue` is for the latter, whose run has no queue message to retry it.
 *
 * @example
 * const started = await startRun({ env, config, processor, jobId, tenant, claim: (job) => job.claim(seq) });
 */
export async function startRun(opts: {
  env: Env;
  config: KilnConfig;
  processor: Processor;
  jobId: string;
  tenant: string;
  claim: (job: ReturnType<typeof jobStub>) => Promise<ClaimResult>;
  requeue?: boolean;
}): Promise<StartOutcome> {
  const { config, jobId, requeue = false } = opts;
  const job = jobStub(opts.env, jobId);
  const tenant = tenantStub(opts.env, opts.tenant);
  const endRun = () => tenant.releaseRunSlot(jobId);
  if (!(await tenant.acquireRunSlot(jobId, config.limits.maxConcurrentJobs))) return { outcome: 'no_slot' };
  const claim = await opts.claim(job);
  if (claim.action === 'skip') {
    // A stale or duplicate claim leaves the slot to the job's current run or message.
    if (claim.reason === 'terminal' || claim.reason === 'missing') await endRun();
    return { outcome: 'done' };
  }
  let task: ProcessorTask;
  try {
    task = await buildProcessorTask({ state: claim.state, attempt: claim.attempt, config, tenant });
  } catch (err) {
    // The claim is held: a message retried without giving it back would be skipped as a duplicate.
    const failure = preparationFailure(err);
    if ('retry' in failure) {
      await job.releaseClaim(claim.attempt, 'error', failure.retry.slice(0, 300), requeue);
      await endRun();
      return { outcome: 'deferred', retryAfterS: null };
    }
    await job.fail(failure.fail);
    await endRun();
    return { outcome: 'done' };
  }
  const result = await opts.processor.dispatch(task);
  switch (result.outcome) {
    case 'accepted':
      return { outcome: 'done' };
    case 'busy':
    case 'unreachable': {
      const next = await job.releaseClaim(claim.attempt, result.outcome, result.detail.slice(0, 300), requeue);
      await endRun();
      if (next === 'failed') return { outcome: 'done' };
      return { outcome: 'deferred', retryAfterS: result.outcome === 'busy' ? result.retryAfterS : null };
    }
    case 'unavailable':
      await job.fail({ kind: 'processor_unavailable', message: result.message });
      await endRun();
      return { outcome: 'done' };
    case 'rejected':
      await job.fail({
        kind: 'processing_failed',
        message: `The processor refused the task (HTTP ${result.status}): ${result.detail}`,
      });
      await endRun();
      return { outcome: 'done' };
  }
}

/**
 * Dispatches a job just created at once, instead of waiting for the queue to deliver its message
 * (up to the queue's batch wait, max_batch_timeout). The queue stays the durable path: a tenant
 * without a free run slot leaves the job to its message; a run claimed here makes that message
 * stale (see claimNow in worker/job-object/state.ts), so the job runs once; a processor that
 * cannot take the run gets it again through a fresh message, with the consumer's retries and
 * dead-letter queue. Any error leaves the job to its message or, once claimed, to the watchdog.
 *
 * @example
 * c.executionCtx.waitUntil(dispatchNow(c.env, state));
 */
export async function dispatchNow(env: Env, state: Pick<JobState, 'job' | 'tenant'>, processor?: Processor): Promise<StartOutcome | null> {
  const config = readConfig(env);
  try {
    return await startRun({
      env,
      config,
      processor: processor ?? processorFor(env, config),
      jobId: state.job.id,
      tenant: state.tenant,
      claim: (job) => job.claimNow() as Promise<ClaimResult>,
      requeue: true,
    });
  } catch (err) {
    console.error('direct dispatch failed; the queue or the watchdog starts the run', state.job.id, err);
    return null;
  }
}
