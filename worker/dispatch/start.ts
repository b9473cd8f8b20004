import type { ProcessorTask } from '../../schemas/processor.ts';
import { type KilnConfig, readConfig } from '../config/index.ts';
import { COALESCE_WINDOW_MS } from '../constants.ts';
import type { ClaimResult, JobState } from '../job-object/state.ts';
import { jobStub, tenantStub } from '../stubs.ts';
import { coalesceKey, groupRuns } from './group.ts';
import { type DispatchResult, type Processor, processorFor } from './processor.ts';
import { buildProcessorTask, preparationFailure } from './task.ts';

/**
 * How an attempt to start a job's run went. `no_slot`: the tenant's run slots were all taken and
 * nothing changed. `deferred`: the processor could not take the run (or preparing it hit a
 * transient error) and the claim was given back, to try again later. `done`: the run started,
 * the claim was skipped (stale, duplicate, finished), or a failure was recorded on the job.
 */
export type StartOutcome = { outcome: 'no_slot' } | { outcome: 'deferred'; retryAfterS: number | null } | { outcome: 'done' };

/** A claimed run with its task built, ready to offer to the processor alone or in a group. */
export interface Run {
  jobId: string;
  state: JobState;
  attempt: number;
  task: ProcessorTask;
  job: ReturnType<typeof jobStub>;
  /** Gives the tenant's run slot back. */
  endRun: () => Promise<unknown>;
}

/** How a start claims the run: the consumer claims its message's generation, the dispatch at creation a new one. */
type Claim = (job: ReturnType<typeof jobStub>) => Promise<ClaimResult>;

/**
 * Takes one of the tenant's run slots (TENANT_MAX_CONCURRENT_JOBS), claims the job's run with
 * `claim` and builds its task: a Run, or the outcome when the run does not go ahead. The slot is
 * given back whenever the run does not go ahead and, once it has, when the job ends
 * (TenantObject.indexJob). `requeue` is for a claim no queue message will retry (claimNow).
 *
 * @example
 * const claimed = await claimForRun({ env, config, jobId, tenant, claim: (job) => job.claim(seq) });
 */
export async function claimForRun(opts: {
  env: Env;
  config: KilnConfig;
  jobId: string;
  tenant: string;
  claim: Claim;
  requeue?: boolean;
}): Promise<Run | StartOutcome> {
  const { config, jobId, requeue = false } = opts;
  const job = jobStub(opts.env, jobId);
  const tenant = tenantStub(opts.env, opts.tenant);
  const endRun = () => tenant.releaseRunSlot(jobId);
  if (!(await tenant.acquireRunSlot(jobId, config.limits.maxConcurrentJobs))) return { outcome: 'no_slot' };
  const claim = await opts.claim(job);
  if (claim.action === 'skip') {
    // A stale or duplicate claim leaves the slot to the job's current run or message (slots are
    // held per job: a batch retried after a sibling went to wait keeps that sibling's slot for the
    // sibling's own message, which takes it when it comes).
    if (claim.reason === 'terminal' || claim.reason === 'missing') await endRun();
    return { outcome: 'done' };
  }
  try {
    const task = await buildProcessorTask({ state: claim.state, attempt: claim.attempt, config, tenant });
    return { jobId, state: claim.state, attempt: claim.attempt, task, job, endRun };
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
}

/**
 * Offers runs to the processor: one alone, several on one input as one group. A processor that
 * does not know POST /run-group (404: a self-hosted one older than the Worker) gets them one by one.
 */
export async function dispatchRuns(proc: Processor, runs: Run[]): Promise<DispatchResult[]> {
  if (runs.length === 1) return [await proc.dispatch(runs[0]!.task)];
  const result = await proc.dispatchGroup({ tasks: runs.map((r) => r.task) });
  if (result.outcome === 'rejected' && result.status === 404) return Promise.all(runs.map((r) => proc.dispatch(r.task)));
  return runs.map(() => result);
}

/** Records on the run's job what the processor answered for it, alone or with its group. */
export async function settleRun(run: Run, result: DispatchResult, requeue = false): Promise<StartOutcome> {
  const { job, endRun } = run;
  switch (result.outcome) {
    case 'accepted':
      return { outcome: 'done' };
    case 'busy':
    case 'unreachable': {
      const next = await job.releaseClaim(run.attempt, result.outcome, result.detail.slice(0, 300), requeue);
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
 * Claims (claimNow: a generation of their own, so their queue messages go stale) and starts the
 * runs of jobs just created, those on one input as one group: the dispatch at creation's own
 * path (the consumer groups across its batch's messages instead).
 */
async function startNow(env: Env, tenant: string, jobIds: string[], processor?: Processor): Promise<StartOutcome[]> {
  const config = readConfig(env);
  const proc = processor ?? processorFor(env, config);
  const claim: Claim = (job) => job.claimNow() as Promise<ClaimResult>;
  const outcomes = new Map<string, StartOutcome>();
  const runs: Run[] = [];
  for (const jobId of jobIds) {
    const claimed = await claimForRun({ env, config, tenant, jobId, claim, requeue: true });
    if ('task' in claimed) runs.push(claimed);
    else outcomes.set(jobId, claimed);
  }
  for (const group of groupRuns(runs)) {
    const results = await dispatchRuns(proc, group);
    for (const [i, run] of group.entries()) outcomes.set(run.jobId, await settleRun(run, results[i]!, true));
  }
  return jobIds.map((id) => outcomes.get(id) ?? { outcome: 'done' });
}

/**
 * Dispatches a job just created at once, instead of waiting for the queue to deliver its message
 * (up to the queue's batch wait, max_batch_timeout). The queue stays the durable path: a tenant
 * without a free run slot leaves the job to its message; a run claimed here makes that message
 * stale (see claimNow in worker/job-object/state.ts), so the job runs once; a processor that
 * cannot take the run gets it again through a fresh message, with the consumer's retries and
 * dead-letter queue. Any error leaves the job to its message or, once claimed, to the watchdog.
 *
 * Siblings on one input (an upload's HD, thumbnail and preview, sent one after another) should
 * share one run. A job that can share a decode worth waiting for opens a window on its input
 * (TenantObject.joinDispatchWindow) and, COALESCE_WINDOW_MS later, starts every job that joined
 * it as one group. An image job never opens one, so a small photo starts at once: it only joins
 * a window a video job opened. Returns this job's outcome, or null when the job's start was left
 * to the window's leader or to the queue.
 *
 * @example
 * c.executionCtx.waitUntil(dispatchNow(c.env, state));
 */
export async function dispatchNow(env: Env, state: JobState, processor?: Processor): Promise<StartOutcome | null> {
  try {
    const key = coalesceKey(state);
    let jobIds = [state.job.id];
    if (key !== null) {
      const tenant = tenantStub(env, state.tenant);
      const role = await tenant.joinDispatchWindow(key, state.job.id, state.job.kind !== 'image');
      if (role === 'joined') return null;
      if (role === 'lead') {
        await new Promise((resolve) => setTimeout(resolve, COALESCE_WINDOW_MS));
        jobIds = await tenant.closeDispatchWindow(key, state.job.id);
      }
    }
    const outcomes = await startNow(env, state.tenant, jobIds, processor);
    return outcomes[jobIds.indexOf(state.job.id)] ?? null;
  } catch (err) {
    console.error('direct dispatch failed; the queue or the watchdog starts the run', state.job.id, err);
    return null;
  }
}

/**
 * The jobs of one POST /jobs/batch, started at once as one group (dispatchNow without the window:
 * the siblings are all here). Their one queue message, made stale by these claims, is the durable
 * path when the processor cannot take them now.
 */
export async function dispatchTogetherNow(env: Env, states: JobState[], processor?: Processor): Promise<StartOutcome[] | null> {
  const [first] = states;
  if (!first) return [];
  try {
    return await startNow(
      env,
      first.tenant,
      states.map((s) => s.job.id),
      processor,
    );
  } catch (err) {
    console.error('direct dispatch of a batch failed; its queue message or the watchdog starts it', first.job.id, err);
    return null;
  }
}
