import { DurableObject } from 'cloudflare:workers';
import type { ErrorBody } from '../../schemas/errors.ts';
import { isTerminal, type Job, type JobEvent, type StandaloneTask } from '../../schemas/job.ts';
import type { ProcessorEvent } from '../../schemas/processor.ts';
import type { Delivery } from '../../schemas/webhook.ts';
import { readConfig } from '../config/index.ts';
import { BUSY_RETRY_BASE_S } from '../constants.ts';
import type { QueueEntry, QueueMessage } from '../dispatch/message.ts';
import { inputFile, outputFile } from '../storage/outputs.ts';
import { publicJob, standaloneTask } from '../tasks/view.ts';
import { signingSecrets } from '../webhooks/secrets.ts';
import { Outbox } from './outbox.ts';
import {
  type BucketObject,
  type Change,
  type ClaimResult,
  cancelJob,
  claimNow,
  claimRun,
  createJob,
  type EventAnswer,
  failJob,
  giveBack,
  isCurrentRun,
  type JobState,
  markFailed,
  markSucceeded,
  type NewJob,
  nextCheckAt,
  recordProgress,
  refusal,
  releaseClaim,
  resendSoon,
  upgradeStored,
  waitForSlot,
  watchdog,
} from './state.ts';
import { writeTenantIndex } from './tenant-index.ts';

/**
 * One Durable Object per job: its state, event log and webhook outbox in SQLite. It hosts the
 * state machine of ./state.ts: each method loads the state, applies one transition, saves it and
 * carries out what the transition asks for (log, tenant index, webhook, queue message, alarm).
 */
export class JobObject extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly outbox: Outbox;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), doc TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, type TEXT NOT NULL, detail TEXT);
    `);
    this.outbox = new Outbox(this.sql);
  }

  private load(): JobState | null {
    const row = this.sql.exec<{ doc: string }>('SELECT doc FROM state WHERE id = 1').toArray()[0];
    return row ? upgradeStored(JSON.parse(row.doc) as JobState) : null;
  }

  private save(state: JobState): void {
    this.sql.exec('INSERT OR REPLACE INTO state (id, doc) VALUES (1, ?)', JSON.stringify(state));
  }

  private log(type: string, detail: unknown): void {
    this.sql.exec('INSERT INTO events (at, type, detail) VALUES (?, ?, ?)', Date.now(), type, JSON.stringify(detail));
  }

  /**
   * Saves a transition's result and carries out its change: the log entry, the webhook of a
   * finished job, the tenant index when the status moved, the queue message, the next alarm.
   */
  private async commit(state: JobState, change: Change): Promise<void> {
    const statusBefore = this.load()?.job.status;
    this.save(state);
    this.log(change.log.type, change.log.detail);
    // A standalone task's receiver gets the task it asked for, as Ittybit's webhook example shows.
    if (isTerminal(state.job.status) && state.job.webhook_url && !change.quiet) {
      this.outbox.add(state.job, Date.now(), state.standalone ? standaloneTask(state) : state.job);
    }
    if (state.job.status !== statusBefore) await this.syncIndex(state);
    if (change.enqueue) await this.enqueue(state);
    await this.scheduleAlarm();
  }

  /**
   * Stores a new job, indexes it for its tenant and queues it, unless `enqueue` is false: the
   * caller then sends the message (one for several jobs), and calls {@link resendSoon} if it
   * cannot. Creating twice returns the first.
   */
  async create(n: NewJob, opts: { enqueue: boolean } = { enqueue: true }): Promise<JobState> {
    const existing = this.load();
    if (existing) return existing;
    const { state, change } = createJob(n);
    this.save(state);
    this.log(change.log.type, change.log.detail);
    await this.scheduleAlarm();
    const [, sent] = await Promise.all([
      this.syncIndex(state),
      (opts.enqueue ? this.enqueue(state) : Promise.resolve()).then(
        () => true,
        (err: unknown) => {
          console.error('job created but not yet queued; the alarm queues it', n.id, err);
          return false;
        },
      ),
    ]);
    if (sent) return state;
    // The job is stored, so the caller gets it; the alarm sends it shortly instead.
    return this.resendSoon();
  }

  /**
   * The job's queue message could not be sent: the alarm sends it shortly. Reloads first: a
   * redelivered message may already have claimed the job meanwhile.
   */
  async resendSoon(): Promise<JobState> {
    const state = this.load();
    if (!state) throw new Error('resendSoon on a job that does not exist');
    resendSoon(state, Date.now());
    this.save(state);
    await this.scheduleAlarm();
    return state;
  }

  /** The job, if it exists and belongs to `tenant`; another tenant's job looks like no job, and so does a standalone step's. */
  async get(tenant: string): Promise<Job | null> {
    const state = this.load();
    return state && state.tenant === tenant ? publicJob(state.job) : null;
  }

  /** The whole state, if the job belongs to `tenant`: what an Idempotency-Key replay answers with. */
  async stored(tenant: string): Promise<JobState | null> {
    const state = this.load();
    return state && state.tenant === tenant ? state : null;
  }

  /** The standalone task `taskId` the job runs (POST /tasks), if the job belongs to `tenant`. */
  async task(tenant: string, taskId: string): Promise<StandaloneTask | null> {
    const state = this.load();
    const task = state && state.tenant === tenant ? standaloneTask(state) : null;
    return task?.id === taskId ? task : null;
  }

  /** The job's event log, oldest first, or null if the job does not belong to `tenant`. */
  async events(tenant: string): Promise<JobEvent[] | null> {
    if (this.load()?.tenant !== tenant) return null;
    return this.sql
      .exec<{ at: number; type: string; detail: string | null }>('SELECT at, type, detail FROM events ORDER BY seq')
      .toArray()
      .map((e) => ({ at: e.at, type: e.type, detail: e.detail === null ? null : (JSON.parse(e.detail) as unknown) }));
  }

  /** Called by the queue consumer for a message of generation `seq`: see {@link claimRun}. */
  async claim(seq: number): Promise<ClaimResult> {
    return this.applyClaim((state, now) => claimRun(state, seq, now));
  }

  /** Called by the dispatch from the job's creation, before its queue message: see {@link claimNow}. */
  async claimNow(): Promise<ClaimResult> {
    return this.applyClaim(claimNow);
  }

  private async applyClaim(transition: (state: JobState, now: number) => ReturnType<typeof claimRun>): Promise<ClaimResult> {
    const state = this.load();
    if (!state) return { action: 'skip', reason: 'missing' };
    const claim = transition(state, Date.now());
    if (claim.action === 'skip') return claim;
    await this.commit(state, claim.change);
    return { action: 'dispatch', attempt: state.attempt, state };
  }

  /**
   * The tenant had no free run slot for `entry` (a message of generation `entry.seq`): the job
   * moves to a new generation (see {@link waitForSlot}) and its message, `entry` with that
   * generation and `slotWaits`, is sent here with `delayS`. Sent by the job itself, as
   * {@link releaseClaim} does: the message that waited is stale from now on, so if this send fails
   * nothing else would carry the job until the stalled-queue watchdog; instead the alarm sends it
   * shortly. The first wait in a row goes to the event log, so GET /jobs/{id}/events says why the
   * job is queued. An entry that could not start a run anyway (stale, duplicate, finished) changes nothing.
   */
  async requeueForSlot(entry: QueueEntry, opts: { limit: number; slotWaits: number; delayS: number }): Promise<void> {
    const state = this.load();
    if (!state) return;
    const wait = waitForSlot(state, entry.seq, Date.now(), opts.delayS);
    if (wait.action === 'skip') return;
    this.save(state);
    const last = this.sql.exec<{ type: string }>('SELECT type FROM events ORDER BY seq DESC LIMIT 1').toArray()[0];
    if (last?.type !== 'run_waiting') {
      this.log('run_waiting', {
        reason: `${opts.limit} of this tenant's jobs are processing (TENANT_MAX_CONCURRENT_JOBS); this one starts when one of them ends`,
      });
    }
    await this.scheduleAlarm();
    const message: QueueMessage = { ...entry, seq: wait.seq, slot_waits: opts.slotWaits };
    await this.env.JOB_QUEUE.send(message, { delaySeconds: opts.delayS }).catch(async (err: unknown) => {
      console.error('waiting for a run slot, but not yet queued; the alarm queues it', state.job.id, err);
      await this.resendSoon();
    });
  }

  /** Whether a run of the job is in progress, which is what its tenant's run slot is held for. */
  async hasCurrentRun(): Promise<boolean> {
    const state = this.load();
    return state !== null && !isTerminal(state.job.status) && state.claimedSeq !== null;
  }

  /**
   * The processor was busy or could not be reached: see {@link releaseClaim}. A run claimed with
   * {@link claimNow} has no queue message to retry it, so `requeue` sends one for the job's
   * generation; if that send fails, the alarm sends it shortly instead.
   */
  async releaseClaim(
    attempt: number,
    outcome: 'busy' | 'unreachable' | 'error',
    detail: string,
    requeue = false,
  ): Promise<'retry' | 'failed'> {
    const state = this.load();
    if (!state) return 'retry';
    const release = releaseClaim(state, { attempt, outcome, detail }, Date.now());
    if (!release.change) return release.next;
    await this.commit(state, release.change);
    if (requeue && release.next === 'retry') {
      // After the first busy backoff, as the consumer's retry would: at once it would find the
      // processor just as full.
      await this.enqueue(state, BUSY_RETRY_BASE_S).catch(async (err: unknown) => {
        console.error('run given back but not yet queued; the alarm queues it', state.job.id, err);
        await this.resendSoon();
      });
    }
    return release.next;
  }

  /** A failure that no retry can fix (or the last retry failed): record it on the job. */
  async fail(error: ErrorBody, seq?: number): Promise<void> {
    const state = this.load();
    if (!state) return;
    const change = failJob(state, error, seq, Date.now());
    if (change) await this.commit(state, change);
  }

  /**
   * Fails a job whose creation was answered with an error (a POST /jobs/batch stored only in
   * part), without its webhook: the caller never learnt its id and sends the request again, so a
   * `failed` delivery, retried for hours, could land after the resent job's and read as its
   * outcome. The job stays listed, failed with `error`, so nothing was silently dropped.
   */
  async discard(error: ErrorBody): Promise<void> {
    const state = this.load();
    if (!state) return;
    const change = failJob(state, error, undefined, Date.now());
    if (change) await this.commit(state, { ...change, quiet: true });
  }

  /** Cancels the job if it belongs to `tenant` (null otherwise); a finished job is returned as is. */
  async cancel(tenant: string): Promise<Job | null> {
    const state = this.load();
    if (!state || state.tenant !== tenant || !publicJob(state.job)) return null;
    const change = cancelJob(state, Date.now());
    if (change) await this.commit(state, change);
    return publicJob(state.job);
  }

  /** Applies one processor event of the current run; events of any other run get the answer of {@link refusal}. */
  async applyEvent(event: ProcessorEvent): Promise<EventAnswer> {
    const state = this.load();
    if (!isCurrentRun(state, event.attempt)) return refusal(state);
    const now = Date.now();
    if (event.type === 'progress') {
      const input = event.input && inputFile({ job: state.job, source: state.source, info: event.input });
      recordProgress(state, { stage: event.stage, percent: event.progress, input }, now);
      this.save(state);
    } else if (event.type === 'succeeded') {
      const { origin, target } = state;
      const output =
        target.type === 'none'
          ? inputFile({ job: state.job, source: state.source, info: event.output })
          : outputFile({ target, origin, publicBase: readConfig(this.env).publicFilesBaseUrl, info: event.output, name: event.name });
      await this.commit(state, markSucceeded(state, output, event.notes ?? null, now));
    } else if (event.type === 'given_back') {
      await this.commit(state, giveBack(state, event, now));
    } else {
      await this.commit(state, markFailed(state, event.error, event.stage, now));
    }
    return { accepted: true, cancelled: false };
  }

  /**
   * Where the current run may write the files of a folder output, or null when the caller is not
   * the current attempt (a late or superseded run) or the output is a single file.
   */
  async outputFolder(attempt: number): Promise<{ prefix: BucketObject; origin: string; tenant: string } | null> {
    const state = this.load();
    if (!state || !isCurrentRun(state, attempt) || state.target.type !== 'folder') return null;
    return { prefix: state.target.location, origin: state.origin, tenant: state.tenant };
  }

  /** The job's state while `attempt` is its current run, to mint that run's URLs again; null for any other run. */
  async currentRun(attempt: number): Promise<JobState | null> {
    const state = this.load();
    return isCurrentRun(state, attempt) ? state : null;
  }

  /** The webhook attempts of the job, or null if it does not belong to `tenant`. */
  async deliveries(tenant: string): Promise<Delivery[] | null> {
    if (this.load()?.tenant !== tenant) return null;
    return this.outbox.deliveries();
  }

  /**
   * Sends the terminal webhook again now, whatever happened to earlier attempts; null if the job
   * does not belong to `tenant`.
   */
  async redeliver(tenant: string): Promise<{ scheduled: boolean; reason?: string } | null> {
    const state = this.load();
    if (!state || state.tenant !== tenant) return null;
    if (!state.job.webhook_url) return { scheduled: false, reason: 'The job has no webhook_url.' };
    if (!isTerminal(state.job.status)) return { scheduled: false, reason: 'The job has not finished yet.' };
    if (!this.outbox.redeliverLatest(Date.now())) return { scheduled: false, reason: 'The job has no webhook event.' };
    await this.scheduleAlarm();
    return { scheduled: true };
  }

  /** One alarm serves four steps, each due at its own time (see {@link scheduleAlarm}). */
  override async alarm(): Promise<void> {
    const state = this.load();
    if (!state) return;
    const now = Date.now();
    if (state.indexStale) await this.syncIndex(state);
    await this.runWatchdog(now);
    await this.deliverWebhooks(now);
    await this.scheduleAlarm();
  }

  private async runWatchdog(now: number): Promise<void> {
    const state = this.load();
    if (!state) return;
    const change = watchdog(state, now, readConfig(this.env).heartbeatTimeoutMs);
    if (change) await this.commit(state, change);
  }

  private async deliverWebhooks(now: number): Promise<void> {
    const state = this.load();
    const url = state?.job.webhook_url;
    if (!state || !url) return;
    const gaveUp = await this.outbox.deliverDue({ url, secrets: () => signingSecrets(this.env, state.tenant), now });
    for (const event of gaveUp) this.log('webhook_gave_up', event);
  }

  /** Sets the alarm to the earliest of the job's own checks (watchdog, index retry) and the next webhook attempt. */
  private async scheduleAlarm(): Promise<void> {
    const state = this.load();
    const due = [state && nextCheckAt(state, Date.now(), readConfig(this.env).heartbeatTimeoutMs), this.outbox.nextAttemptAt()];
    const deadlines = due.filter((at) => at !== null);
    if (deadlines.length === 0) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(Math.min(...deadlines));
  }

  /**
   * Writes the job's summary to its tenant's index. A failure marks the index stale for the alarm
   * to retry rather than failing the transition that caused it.
   */
  private async syncIndex(state: JobState): Promise<void> {
    const written = await writeTenantIndex(this.env, state.tenant, state.job);
    // Reload: other events may have changed the job while the index call was in flight. A write
    // of a status that is no longer current leaves the index stale whatever it answered: it may
    // have landed after the write of the newer status.
    const fresh = this.load();
    const stale = !written || fresh?.job.status !== state.job.status;
    if (!fresh || fresh.indexStale === stale) return;
    fresh.indexStale = stale;
    this.save(fresh);
    if (stale) await this.scheduleAlarm();
  }

  private async enqueue(state: JobState, delaySeconds = 0): Promise<void> {
    const message: QueueMessage = { job_id: state.job.id, tenant: state.tenant, seq: state.seq };
    await this.env.JOB_QUEUE.send(message, delaySeconds > 0 ? { delaySeconds } : undefined);
  }
}
