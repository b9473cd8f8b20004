import type { Delivery } from '../../schemas/webhook.ts';
import { newId } from '../utils/ids.ts';
import { deliverWebhook, type WebhookAttempt } from '../webhooks/deliver.ts';
import { nextWebhookAttempt } from '../webhooks/schedule.ts';
import type { StoredJob } from './state.ts';

interface OutboxRow extends Record<string, SqlStorageValue> {
  event_id: string;
  body: string;
  first_at: number;
  next_at: number | null;
  attempts: number;
  trigger: string;
  generation: number;
}

/** The attempt recorded when the tenant's signing secrets could not be loaded: nothing was sent. */
const UNSIGNED: Omit<WebhookAttempt, 'durationMs'> = {
  ok: false,
  status: null,
  error: 'Kiln could not load the signing secret, so nothing was sent; the webhook is retried.',
  retryAfterMs: null,
};

/** An event whose retries ran out, for the job's event log. */
export interface GaveUp {
  event_id: string;
  attempts: number;
}

/**
 * A job's webhook outbox in its Durable Object's SQLite: each event waiting to be sent (`next_at`
 * set) or done with, and every attempt made. The event's body is fixed when it is added, so a
 * retry or a redelivery sends the same bytes under the same webhook-id.
 */
export class Outbox {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    sql.exec(`
      CREATE TABLE IF NOT EXISTS outbox (event_id TEXT PRIMARY KEY, body TEXT NOT NULL, first_at INTEGER NOT NULL,
        next_at INTEGER, attempts INTEGER NOT NULL DEFAULT 0, trigger TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY, event_id TEXT NOT NULL, trigger TEXT NOT NULL,
        attempt INTEGER NOT NULL, status INTEGER, error TEXT, duration_ms INTEGER NOT NULL, created_at INTEGER NOT NULL,
        next_attempt_at INTEGER);
    `);
    // Outboxes created before redeliveries were counted lack the column.
    const columns = sql.exec<{ name: string }>(`SELECT name FROM pragma_table_info('outbox')`).toArray();
    if (!columns.some((c) => c.name === 'generation')) sql.exec('ALTER TABLE outbox ADD COLUMN generation INTEGER NOT NULL DEFAULT 0');
  }

  /**
   * Queues the webhook announcing the job's (terminal) status, due at once; a status is announced
   * once. `body` is what is sent: the job, or the standalone task it runs.
   */
  add(job: StoredJob, now: number, body: unknown = job): void {
    this.sql.exec(
      `INSERT OR IGNORE INTO outbox (event_id, body, first_at, next_at, attempts, trigger) VALUES (?, ?, ?, ?, 0, 'automatic')`,
      `evt_${job.id.slice('job_'.length)}_${job.status}`,
      JSON.stringify(body),
      now,
      now,
    );
  }

  /** When the next attempt is due, or null when nothing is waiting. */
  nextAttemptAt(): number | null {
    return this.sql.exec<{ next: number | null }>('SELECT MIN(next_at) AS next FROM outbox WHERE next_at IS NOT NULL').one().next;
  }

  /**
   * Sends every event due at `now` to `url` once, records the attempt and schedules the next one
   * (nextWebhookAttempt); returns the events that ran out of retries. `secrets` is asked only when
   * something is due, so each attempt is signed with the secrets valid when it is sent; if it
   * fails, the due events count a failed attempt and are retried like any other. An event
   * redelivered while its attempt was in flight keeps the redelivery's schedule: the attempt is
   * recorded, but its outcome does not settle an event that was asked for again.
   */
  async deliverDue(opts: {
    url: string;
    secrets: () => Promise<readonly string[]>;
    now: number;
    fetcher?: typeof fetch;
  }): Promise<GaveUp[]> {
    const firstDue = this.nextAttemptAt();
    if (firstDue === null || firstDue > opts.now) return [];
    const secrets = await opts.secrets().catch((err: unknown) => {
      console.error('webhook secrets could not be loaded; the attempt is recorded as failed and retried', err);
      return null;
    });
    const due = this.sql.exec<OutboxRow>('SELECT * FROM outbox WHERE next_at IS NOT NULL AND next_at <= ?', opts.now).toArray();
    const gaveUp: GaveUp[] = [];
    for (const row of due) {
      const result: WebhookAttempt = secrets
        ? await deliverWebhook({ url: opts.url, secrets, eventId: row.event_id, body: row.body, fetcher: opts.fetcher })
        : { ...UNSIGNED, durationMs: 0 };
      const attempts = row.attempts + 1;
      const scheduled = result.ok
        ? null
        : nextWebhookAttempt({ attempts, firstAt: row.first_at, now: Date.now(), retryAfterMs: result.retryAfterMs });
      const settled =
        this.sql.exec(
          'UPDATE outbox SET attempts = ?, next_at = ? WHERE event_id = ? AND generation = ?',
          attempts,
          scheduled,
          row.event_id,
          row.generation,
        ).rowsWritten > 0;
      const next = settled
        ? scheduled
        : this.sql.exec<{ next_at: number | null }>('SELECT next_at FROM outbox WHERE event_id = ?', row.event_id).one().next_at;
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
      if (!result.ok && next === null && settled) gaveUp.push({ event_id: row.event_id, attempts });
    }
    return gaveUp;
  }

  /**
   * Makes the latest event due again at `now` as a redelivery with a fresh retry window,
   * whatever happened to earlier attempts; false when there is no event.
   */
  redeliverLatest(now: number): boolean {
    const row = this.sql.exec<OutboxRow>('SELECT * FROM outbox ORDER BY first_at DESC LIMIT 1').toArray()[0];
    if (!row) return false;
    this.sql.exec(
      `UPDATE outbox SET next_at = ?, first_at = ?, attempts = 0, trigger = 'redeliver', generation = generation + 1 WHERE event_id = ?`,
      now,
      now,
      row.event_id,
    );
    return true;
  }

  /** Every attempt so far, oldest first: in the order they were recorded (two can share a millisecond). */
  deliveries(): Delivery[] {
    return this.sql
      .exec<Omit<Delivery, 'object'> & Record<string, SqlStorageValue>>(
        'SELECT id, event_id, trigger, attempt, status, error, duration_ms, created_at, next_attempt_at FROM deliveries ORDER BY rowid',
      )
      .toArray()
      .map((d) => ({ ...d, object: 'delivery' as const }));
  }
}
