import { RUN_SLOT_RECHECK_MS } from '../constants.ts';

/** The request rates a tenant is held to (docs/behaviour.md#limits-per-tenant): job creation and uploads. */
export type RateBucketName = 'jobs' | 'uploads';

export type TokenTake = { allowed: true } | { allowed: false; retryAfterS: number };

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * One request against a token bucket that holds `perMinute` tokens and refills at `perMinute` a
 * minute: a tenant may burst up to a minute's worth, then keeps to the rate. A refused request
 * learns how long until a token is back, in whole seconds (at least 1).
 *
 * @example takeToken(null, 600, Date.now()) // { bucket: { tokens: 599, … }, result: { allowed: true } }
 */
export function takeToken(bucket: Bucket | null, perMinute: number, now: number): { bucket: Bucket; result: TokenTake } {
  const refillPerMs = perMinute / 60_000;
  // A clock that stepped back refills nothing rather than draining the bucket.
  const elapsedMs = bucket ? Math.max(0, now - bucket.updatedAt) : 0;
  const tokens = bucket ? Math.min(perMinute, bucket.tokens + elapsedMs * refillPerMs) : perMinute;
  if (tokens >= 1) return { bucket: { tokens: tokens - 1, updatedAt: now }, result: { allowed: true } };
  // Whole milliseconds first, so float error cannot add a second to an exact wait.
  const waitMs = Math.round((1 - tokens) / refillPerMs);
  const retryAfterS = Math.max(1, Math.ceil(waitMs / 1000));
  return { bucket: { tokens, updatedAt: now }, result: { allowed: false, retryAfterS } };
}

/** A tenant's rate buckets, in its TenantObject's SQLite so every Worker location sees one count. */
export class RateBuckets {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    sql.exec('CREATE TABLE IF NOT EXISTS rate_buckets (name TEXT PRIMARY KEY, tokens REAL NOT NULL, updated_at INTEGER NOT NULL)');
  }

  take(name: RateBucketName, perMinute: number, now: number): TokenTake {
    const row = this.sql
      .exec<{ tokens: number; updated_at: number }>('SELECT tokens, updated_at FROM rate_buckets WHERE name = ?', name)
      .toArray()[0];
    const { bucket, result } = takeToken(row ? { tokens: row.tokens, updatedAt: row.updated_at } : null, perMinute, now);
    this.sql.exec('INSERT OR REPLACE INTO rate_buckets (name, tokens, updated_at) VALUES (?, ?, ?)', name, bucket.tokens, bucket.updatedAt);
    return result;
  }
}

/**
 * A tenant's run slots: one per job with a run in progress, at most `limit` at once
 * (TENANT_MAX_CONCURRENT_JOBS). A job holds one slot whatever its attempt, so a retried or
 * redelivered run takes its own slot back. Slots are given back when the run ends; one whose
 * release was lost (a Worker that died mid-dispatch) is found out when the tenant is at its limit:
 * every slot not confirmed for RUN_SLOT_RECHECK_MS is checked against its job, and freed unless
 * the job still has a run (a silent run stops counting once the watchdog declares it lost).
 */
export class RunSlots {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    sql.exec('CREATE TABLE IF NOT EXISTS run_slots (job_id TEXT PRIMARY KEY, checked_at INTEGER NOT NULL)');
  }

  /** Takes (or takes back) the job's slot; false when the tenant is at `limit`. */
  async acquire(jobId: string, limit: number, now: number, hasRun: (jobId: string) => Promise<boolean>): Promise<boolean> {
    if (this.renew(jobId, now) || this.take(jobId, limit, now)) return true;
    const due = this.sql
      .exec<{ job_id: string; checked_at: number }>(
        'SELECT job_id, checked_at FROM run_slots WHERE checked_at <= ?',
        now - RUN_SLOT_RECHECK_MS,
      )
      .toArray();
    if (due.length === 0) return false;
    const verdicts = await Promise.all(
      due.map((slot) =>
        hasRun(slot.job_id).then(
          (running) => ({ ...slot, running }),
          // A job that cannot be asked right now keeps its slot until the next check.
          () => ({ ...slot, running: null }),
        ),
      ),
    );
    // Other calls ran while the jobs were asked: change only slots nobody touched meanwhile.
    for (const { job_id, checked_at, running } of verdicts) {
      if (running === true)
        this.sql.exec('UPDATE run_slots SET checked_at = ? WHERE job_id = ? AND checked_at = ?', now, job_id, checked_at);
      if (running === false) this.sql.exec('DELETE FROM run_slots WHERE job_id = ? AND checked_at = ?', job_id, checked_at);
    }
    return this.renew(jobId, now) || this.take(jobId, limit, now);
  }

  release(jobId: string): void {
    this.sql.exec('DELETE FROM run_slots WHERE job_id = ?', jobId);
  }

  private renew(jobId: string, now: number): boolean {
    return this.sql.exec('UPDATE run_slots SET checked_at = ? WHERE job_id = ?', now, jobId).rowsWritten > 0;
  }

  private take(jobId: string, limit: number, now: number): boolean {
    const held = this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM run_slots').one().n;
    if (held >= limit) return false;
    this.sql.exec('INSERT INTO run_slots (job_id, checked_at) VALUES (?, ?)', jobId, now);
    return true;
  }
}
