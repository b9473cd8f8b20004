import { DurableObject } from 'cloudflare:workers';
import type { ErrorBody } from '../../schemas/errors.ts';
import type { FileObject, MediaInfo } from '../../schemas/file.ts';
import type { Job, JobEvent } from '../../schemas/job.ts';
import type { ProcessorEvent } from '../../schemas/processor.ts';
import type { Delivery } from '../../schemas/webhook.ts';
import { readConfig } from '../config/index.ts';
import { CREATE_RETRY_MS, MAX_RUN_ATTEMPTS, MAX_UNREACHABLE_DISPATCHES, QUEUE_STALL_MS } from '../constants.ts';
import type { QueueMessage } from '../dispatch/message.ts';
import { fileIdOfKey, fileUrl } from '../storage/keys.ts';
import { newId } from '../utils/ids.ts';
import { deliverWebhook } from '../webhooks/deliver.ts';
import { nextWebhookAttempt } from '../webhooks/schedule.ts';
import {
  createJobState,
  isTerminal,
  type JobState,
  markCancelled,
  markFailed,
  markStarted,
  markSucceeded,
  type NewJob,
  type OutputTarget,
  recordProgress,
  requeue,
} from './state.ts';

export type ClaimResult =
  | { action: 'dispatch'; attempt: number; state: JobState }
  | { action: 'skip'; reason: 'terminal' | 'stale' | 'duplicate' | 'missing' };

interface OutboxRow extends Record<string, SqlStorageValue> {
  event_id: string;
  body: string;
  first_at: number;
  next_at: number | null;
  attempts: number;
  trigger: string;
}

/**
 * One Durable Object per job: its state, event log and webhook deliveries in SQLite. Every change
 * goes through the functions in ./state.ts; terminal states never change again.
 */
export class JobObject extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), doc TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, type TEXT NOT NULL, detail TEXT);
      CREATE TABLE IF NOT EXISTS outbox (event_id TEXT PRIMARY KEY, body TEXT NOT NULL, first_at INTEGER NOT NULL,
        next_at INTEGER, attempts INTEGER NOT NULL DEFAULT 0, trigger TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY, event_id TEXT NOT NULL, trigger TEXT NOT NULL,
        attempt INTEGER NOT NULL, status INTEGER, error TEXT, duration_ms INTEGER NOT NULL, created_at INTEGER NOT NULL,
        next_attempt_at INTEGER);
    `);
  }

  private load(): JobState | null {
    const row = this.sql.exec<{ doc: string }>('SELECT doc FROM state WHERE id = 1').toArray()[0];
    return row ? (JSON.parse(row.doc) as JobState) : null;
  }

  private save(state: JobState): void {
    this.sql.exec('INSERT OR REPLACE INTO state (id, doc) VALUES (1, ?)', JSON.stringify(state));
  }

  private log(type: string, detail: unknown = null): void {
    this.sql.exec('INSERT INTO events (at, type, detail) VALUES (?, ?, ?)', Date.now(), type, JSON.stringify(detail));
  }

  /** Stores a new job, indexes it for its tenant and queues it. Creating twice returns the first. */
  async create(n: NewJob): Promise<Job> {
    const existing = this.load();
    if (existing) return existing.job;
    const state = createJobState(n);
    this.save(state);
    this.log('created');
    await this.scheduleAlarm(state);
    const [, sent] = await Promise.all([
      this.index(state),
      this.enqueue(state).then(
        () => true,
        (err: unknown) => {
          console.error('job created but not yet queued; the alarm queues it', n.id, err);
          return false;
        },
      ),
    ]);
    if (!sent) {
      // The job is stored, so the caller gets it; the alarm sends it shortly instead. Reload
      // first: a redelivered message may already have claimed it meanwhile.
      const fresh = this.load() ?? state;
      if (fresh.claimedSeq === null) fresh.enqueuedAt = Date.now() - QUEUE_STALL_MS;
      this.save(fresh);
      await this.ctx.storage.setAlarm(Date.now() + CREATE_RETRY_MS);
      return fresh.job;
    }
    return state.job;
  }

  /** The job, if it exists and belongs to `tenant`; another tenant's job looks like no job. */
  async get(tenant: string): Promise<Job | null> {
    const state = this.load();
    return state && state.tenant === tenant ? state.job : null;
  }

  /** The job's event log, oldest first, or null if the job does not belong to `tenant`. */
  async events(tenant: string): Promise<JobEvent[] | null> {
    if (this.load()?.tenant !== tenant) return null;
    return this.sql
      .exec<{ at: number; type: string; detail: string | null }>('SELECT at, type, detail FROM events ORDER BY seq')
      .toArray()
      .map((e) => ({ at: e.at, type: e.type, detail: e.detail === null ? null : (JSON.parse(e.detail) as unknown) }));
  }

  /**
   * Called by the queue consumer for a message of generation `seq`. Starts a run only for the
   * current generation and only once, so a message delivered twice starts one encode.
   */
  async claim(seq: number): Promise<ClaimResult> {
    const state = this.load();
    if (!state) return { action: 'skip', reason: 'missing' };
    if (isTerminal(state.job.status)) return { action: 'skip', reason: 'terminal' };
    if (seq !== state.seq) return { action: 'skip', reason: 'stale' };
    if (state.claimedSeq === seq) return { action: 'skip', reason: 'duplicate' };
    const now = Date.now();
    state.claimedSeq = seq;
    state.attempt += 1;
    state.heartbeatAt = now;
    markStarted(state, now);
    this.save(state);
    this.log('run_started', { attempt: state.attempt });
    await this.index(state);
    await this.scheduleAlarm(state);
    return { action: 'dispatch', attempt: state.attempt, state };
  }

  /**
   * The processor was busy or could not be reached: give the claim back so the retried message can
   * start the run. A job that found no processor MAX_UNREACHABLE_DISPATCHES times in a row fails instead,
   * with the last error, so a container that cannot start is reported rather than retried for ever.
   */
  async releaseClaim(attempt: number, outcome: 'busy' | 'unreachable', detail: string): Promise<'retry' | 'failed'> {
    const state = this.load();
    if (!state || isTerminal(state.job.status) || state.attempt !== attempt) return 'retry';
    if (outcome === 'unreachable') {
      state.unreachableDispatches = (state.unreachableDispatches ?? 0) + 1;
      if (state.unreachableDispatches >= MAX_UNREACHABLE_DISPATCHES) {
        const error: ErrorBody = {
          kind: 'processor_unavailable',
          message: `No processor could be reached in ${state.unreachableDispatches} attempts; the last error was: ${detail}. Check the processor's logs (for Containers: wrangler tail and the dashboard), then submit the job again.`,
        };
        markFailed(state, error, null, Date.now());
        await this.finish(state, 'failed', error);
        return 'failed';
      }
    }
    // The attempt number is not given back: a dispatch that timed out may still have started, and
    // its token must not be valid for the next run.
    state.claimedSeq = null;
    state.heartbeatAt = null;
    if (state.lostRuns === 0 && state.job.progress === 0) state.job.status = 'queued';
    state.enqueuedAt = Date.now();
    this.save(state);
    this.log('run_deferred', { attempt, reason: `${outcome}: ${detail.slice(0, 200)}` });
    await this.index(state);
    await this.scheduleAlarm(state);
    return 'retry';
  }

  /** A failure that no retry can fix (or the last retry failed): record it on the job. */
  async fail(error: ErrorBody, seq?: number): Promise<Job | null> {
    const state = this.load();
    if (!state) return null;
    if (isTerminal(state.job.status) || (seq !== undefined && seq !== state.seq)) return state.job;
    markFailed(state, error, null, Date.now());
    await this.finish(state, 'failed', error);
    return state.job;
  }

  /** Cancels the job if it belongs to `tenant` (null otherwise); a finished job is returned as is. */
  async cancel(tenant: string): Promise<Job | null> {
    const state = this.load();
    if (!state || state.tenant !== tenant) return null;
    if (isTerminal(state.job.status)) return state.job;
    markCancelled(state, Date.now());
    await this.finish(state, 'cancelled');
    return state.job;
  }

  /**
   * Applies one processor event. Events from another attempt, or after the job ended, are
   * ignored: duplicate and late callbacks are no-ops. Returns whether the run should continue.
   */
  async applyEvent(event: ProcessorEvent): Promise<{ accepted: boolean; cancelled: boolean }> {
    const state = this.load();
    if (!state) return { accepted: false, cancelled: true };
    if (isTerminal(state.job.status)) return { accepted: false, cancelled: state.job.status === 'cancelled' };
    if (event.attempt !== state.attempt || state.claimedSeq === null) return { accepted: false, cancelled: true };
    const now = Date.now();
    state.heartbeatAt = now;
    // A processor reached this run: only dispatches that find none in a row count towards failing.
    state.unreachableDispatches = 0;
    if (event.type === 'progress') {
      recordProgress(state, event.stage, event.progress, now);
      if (event.input) {
        const probe = state.job.tasks[0];
        if (probe) probe.output = event.input;
      }
      this.save(state);
      return { accepted: true, cancelled: false };
    }
    if (event.type === 'succeeded') {
      markSucceeded(state, this.outputFile(state, event.output, event.name), state.job.tasks[0]?.output, now);
      await this.finish(state, 'succeeded', event.notes ?? null);
    } else {
      markFailed(state, event.error, event.stage, now);
      await this.finish(state, 'failed', event.error);
    }
    return { accepted: true, cancelled: false };
  }

  /** The stored output as a File; for a folder output (HLS) `name` is its main file. */
  private outputFile(state: JobState, info: MediaInfo, name: string | undefined): FileObject {
    const target = state.target;
    const key = target.key.endsWith('/') ? `${target.key}${name ?? ''}` : target.key;
    const url =
      target.type === 's3'
        ? `s3://${target.bucket}/${key}`
        : fileUrl(key, { origin: state.origin, publicBase: readConfig(this.env).publicFilesBaseUrl });
    const id = (target.type === 'kiln' && fileIdOfKey(key)) || newId('file');
    return { object: 'file', id, url, ...info };
  }

  /**
   * Where the current run may write the files of a folder output, or null when the caller is not
   * the current attempt (a late or superseded run).
   */
  async outputFolder(attempt: number): Promise<{ target: OutputTarget; origin: string; tenant: string } | null> {
    const state = this.load();
    if (!state || isTerminal(state.job.status) || state.attempt !== attempt || state.claimedSeq === null) return null;
    if (!state.target.key.endsWith('/')) return null;
    return { target: state.target, origin: state.origin, tenant: state.tenant };
  }

  private async finish(state: JobState, type: string, detail: unknown = null): Promise<void> {
    this.save(state);
    this.log(type, detail);
    if (state.job.webhook_url) {
      const eventId = `evt_${state.job.id.slice('job_'.length)}_${state.job.status}`;
      this.sql.exec(
        `INSERT OR IGNORE INTO outbox (event_id, body, first_at, next_at, attempts, trigger) VALUES (?, ?, ?, ?, 0, 'automatic')`,
        eventId,
        JSON.stringify(state.job),
        Date.now(),
        Date.now(),
      );
    }
    await this.index(state);
    await this.scheduleAlarm(state);
  }

  /** The webhook attempts of the job, or null if it does not belong to `tenant`. */
  async deliveries(tenant: string): Promise<Delivery[] | null> {
    if (this.load()?.tenant !== tenant) return null;
    return this.sql
      .exec<Omit<Delivery, 'object'> & Record<string, SqlStorageValue>>(
        'SELECT id, event_id, trigger, attempt, status, error, duration_ms, created_at, next_attempt_at FROM deliveries ORDER BY created_at, id',
      )
      .toArray()
      .map((d) => ({ ...d, object: 'delivery' as const }));
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
    const row = this.sql.exec<OutboxRow>('SELECT * FROM outbox ORDER BY first_at DESC LIMIT 1').toArray()[0];
    if (!row) return { scheduled: false, reason: 'The job has no webhook event.' };
    const now = Date.now();
    this.sql.exec(
      `UPDATE outbox SET next_at = ?, first_at = ?, attempts = 0, trigger = 'redeliver' WHERE event_id = ?`,
      now,
      now,
      row.event_id,
    );
    await this.scheduleAlarm(state);
    return { scheduled: true };
  }

  /** One alarm serves the watchdog, the stalled-queue check and webhook retries. */
  override async alarm(): Promise<void> {
    const state = this.load();
    if (!state) return;
    const now = Date.now();
    if (state.indexStale) await this.index(state);
    await this.watchdog(this.load() ?? state, now);
    await this.deliverDueWebhooks(now);
    await this.scheduleAlarm(this.load() ?? state);
  }

  private async watchdog(state: JobState, now: number): Promise<void> {
    if (isTerminal(state.job.status)) return;
    if (state.claimedSeq === null) {
      if (now - state.enqueuedAt >= QUEUE_STALL_MS) {
        this.log('queue_resend', { seq: state.seq });
        state.enqueuedAt = now;
        this.save(state);
        await this.index(state);
        await this.enqueue(state);
      }
      return;
    }
    if (state.heartbeatAt !== null && now - state.heartbeatAt < readConfig(this.env).heartbeatTimeoutMs) return;
    const silentFor = Math.round((now - (state.heartbeatAt ?? now)) / 1000);
    state.lostRuns += 1;
    if (state.lostRuns >= MAX_RUN_ATTEMPTS) {
      markFailed(
        state,
        {
          kind: 'timeout',
          message: `The processor stopped responding ${state.lostRuns} times (last silent for ${silentFor} s). Retry the job; if it keeps failing, the input may be too large for the configured limits.`,
        },
        null,
        now,
      );
      await this.finish(state, 'failed', { reason: 'watchdog', lost_runs: state.lostRuns });
      return;
    }
    this.log('run_lost', { attempt: state.attempt, silent_s: silentFor });
    requeue(state, now);
    this.save(state);
    await this.enqueue(state);
  }

  private async deliverDueWebhooks(now: number): Promise<void> {
    const state = this.load();
    const url = state?.job.webhook_url;
    if (!state || !url) return;
    const due = this.sql
      .exec<OutboxRow>('SELECT * FROM outbox WHERE next_at IS NOT NULL AND next_at <= ?', now)
      .toArray();
    for (const row of due) {
      const result = await deliverWebhook({
        url,
        secret: readConfig(this.env).webhookSecret,
        eventId: row.event_id,
        body: row.body,
      });
      const attempts = row.attempts + 1;
      const next = result.ok
        ? null
        : nextWebhookAttempt({ attempts, firstAt: row.first_at, now: Date.now(), retryAfterMs: result.retryAfterMs });
      this.sql.exec('UPDATE outbox SET attempts = ?, next_at = ? WHERE event_id = ?', attempts, next, row.event_id);
      this.sql.exec(
        `INSERT INTO deliveries (id, event_id, trigger, attempt, status, error, duration_ms, created_at, next_attempt_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        newId('dlv'),
        row.event_id,
        row.trigger,
        attempts,
        result.status,
        result.error,
        result.durationMs,
        Date.now(),
        next,
      );
      if (!result.ok && next === null) this.log('webhook_gave_up', { event_id: row.event_id, attempts });
    }
  }

  private async scheduleAlarm(state: JobState): Promise<void> {
    const deadlines: number[] = [];
    if (!isTerminal(state.job.status)) {
      deadlines.push(
        state.claimedSeq === null
          ? state.enqueuedAt + QUEUE_STALL_MS
          : (state.heartbeatAt ?? Date.now()) + readConfig(this.env).heartbeatTimeoutMs,
      );
    }
    const webhook = this.sql
      .exec<{ next: number | null }>('SELECT MIN(next_at) AS next FROM outbox WHERE next_at IS NOT NULL')
      .toArray()[0]?.next;
    if (webhook !== null && webhook !== undefined) deadlines.push(webhook);
    if (deadlines.length === 0) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(Math.min(...deadlines));
  }

  /**
   * Writes the job's summary to its tenant's index. A failure is remembered and retried by the
   * alarm (see {@link retryIndex}) rather than failing the transition that caused it.
   */
  private async index(state: JobState): Promise<void> {
    let stale: boolean;
    try {
      await this.writeIndex(state);
      stale = false;
    } catch (err) {
      console.error('tenant index write failed; the alarm retries it', state.job.id, err);
      stale = true;
    }
    // Reload: other events may have changed the job while the index call was in flight.
    const fresh = this.load();
    if (!fresh || fresh.indexStale === stale) return;
    fresh.indexStale = stale;
    this.save(fresh);
    if (stale) {
      await this.ctx.storage.setAlarm(Math.min((await this.ctx.storage.getAlarm()) ?? Infinity, Date.now() + CREATE_RETRY_MS));
    }
  }

  private async writeIndex(state: JobState): Promise<void> {
    const tenant = this.env.TENANTS.get(this.env.TENANTS.idFromName(state.tenant));
    await tenant.indexJob({
      id: state.job.id,
      kind: state.job.kind,
      status: state.job.status,
      input: state.job.input,
      metadata: state.job.metadata,
      created_at: state.job.created_at,
    });
  }

  private async enqueue(state: JobState): Promise<void> {
    const message: QueueMessage = { job_id: state.job.id, tenant: state.tenant, seq: state.seq };
    await this.env.JOB_QUEUE.send(message);
  }
}
