import { DurableObject } from 'cloudflare:workers';
import { isTerminal, type Job, type TaskKind } from '../../schemas/job.ts';
import { IDEMPOTENCY_TTL_MS } from '../constants.ts';
import { jobStub } from '../stubs.ts';
import { type ConnectionChanges, type ConnectionRecord, ConnectionStore, type ConnectionWrite } from './connections.ts';
import { DispatchWindows, type WindowRole } from './dispatch-windows.ts';
import { type RateBucketName, RateBuckets, RunSlots, type TokenTake } from './limits.ts';
import { type JobListQuery, listJobsSql } from './list.ts';
import { WebhookSecretStore, type WebhookSecrets } from './webhook-secrets.ts';

/** What the tenant index keeps per job: enough to filter and page without waking job objects. A standalone step's job has the step's kind. */
export type JobSummary = Pick<Job, 'id' | 'status' | 'input' | 'metadata' | 'created_at'> & { kind: TaskKind };

export type { ConnectionRecord };

export type IdempotencyClaim = { outcome: 'new' } | { outcome: 'replay'; job_id: string } | { outcome: 'conflict' };

export interface UploadRecord {
  id: string;
  key: string;
  filename: string;
  content_type: string;
  size: number | null;
  created_at: number;
}

/**
 * One Durable Object per tenant: the job index (for GET /jobs filters and pagination),
 * idempotency keys, S3 connections, uploaded files, webhook signing secrets and its limits
 * (request rates, run slots).
 * Single-threaded, so claims are atomic.
 */
export class TenantObject extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly webhookSecretStore: WebhookSecretStore;
  private readonly connectionStore: ConnectionStore;
  private readonly rateBuckets: RateBuckets;
  private readonly runSlots: RunSlots;
  private readonly dispatchWindows = new DispatchWindows();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, input TEXT NOT NULL,
        created_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, id);
      CREATE INDEX IF NOT EXISTS jobs_kind ON jobs (kind, id);
      CREATE INDEX IF NOT EXISTS jobs_input ON jobs (input, id);
      CREATE TABLE IF NOT EXISTS job_metadata (job_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (job_id, key));
      CREATE INDEX IF NOT EXISTS job_metadata_lookup ON job_metadata (key, value, job_id);
      CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, body_hash TEXT NOT NULL, job_id TEXT NOT NULL,
        created_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, job_id TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS uploads (id TEXT PRIMARY KEY, key TEXT NOT NULL, filename TEXT NOT NULL,
        content_type TEXT NOT NULL, size INTEGER, created_at INTEGER NOT NULL);
    `);
    this.webhookSecretStore = new WebhookSecretStore(this.sql);
    this.connectionStore = new ConnectionStore(this.sql);
    this.rateBuckets = new RateBuckets(this.sql);
    this.runSlots = new RunSlots(this.sql);
  }

  async indexJob(job: JobSummary): Promise<void> {
    // The index write of a finished job is retried until it lands, so it is where a run slot is surely given back.
    if (isTerminal(job.status)) this.runSlots.release(job.id);
    this.sql.exec(
      `INSERT INTO jobs (id, kind, status, input, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status`,
      job.id,
      job.kind,
      job.status,
      job.input,
      job.created_at,
    );
    // Filters arrive as query text, so a value is indexed as the text it is echoed as: 3, true.
    for (const [key, value] of Object.entries(job.metadata)) {
      this.sql.exec('INSERT OR IGNORE INTO job_metadata (job_id, key, value) VALUES (?, ?, ?)', job.id, key, String(value));
    }
  }

  /** Remembers which job carries a standalone task (POST /tasks), for GET /tasks/{id}. */
  async indexTask(taskId: string, jobId: string): Promise<void> {
    this.sql.exec('INSERT OR IGNORE INTO tasks (id, job_id) VALUES (?, ?)', taskId, jobId);
  }

  async jobOfTask(taskId: string): Promise<string | null> {
    return this.sql.exec<{ job_id: string }>('SELECT job_id FROM tasks WHERE id = ?', taskId).toArray()[0]?.job_id ?? null;
  }

  /** Standalone tasks matching the query (on their jobs' rows), one more than the limit, like {@link listJobIds}. */
  async listTasks(query: JobListQuery): Promise<{ id: string; job_id: string }[]> {
    const { sql, params } = listJobsSql(query, 'tasks');
    return this.sql.exec<{ id: string; job_id: string }>(sql, ...params).toArray();
  }

  /** Job ids matching the query, one more than the limit so the caller knows whether more exist. */
  async listJobIds(query: JobListQuery): Promise<string[]> {
    const { sql, params } = listJobsSql(query);
    return this.sql
      .exec<{ id: string }>(sql, ...params)
      .toArray()
      .map((r) => r.id);
  }

  /**
   * Reserves an idempotency key for a new job, or tells the caller which job already owns it
   * (which may not exist yet: see submitJob). Keys expire after IDEMPOTENCY_TTL_MS and are never
   * released earlier.
   */
  async claimIdempotencyKey(key: string, bodyHash: string, jobId: string): Promise<IdempotencyClaim> {
    const now = Date.now();
    this.sql.exec('DELETE FROM idempotency WHERE created_at < ?', now - IDEMPOTENCY_TTL_MS);
    const row = this.sql
      .exec<{ body_hash: string; job_id: string }>('SELECT body_hash, job_id FROM idempotency WHERE key = ?', key)
      .toArray()[0];
    if (row) return row.body_hash === bodyHash ? { outcome: 'replay', job_id: row.job_id } : { outcome: 'conflict' };
    this.sql.exec('INSERT INTO idempotency (key, body_hash, job_id, created_at) VALUES (?, ?, ?, ?)', key, bodyHash, jobId, now);
    return { outcome: 'new' };
  }

  /** Stores a new connection, unless another of the tenant's connections has its name. */
  async addConnection(c: ConnectionRecord): Promise<ConnectionWrite<ConnectionRecord>> {
    return this.connectionStore.add(c);
  }

  async listConnections(): Promise<ConnectionRecord[]> {
    return this.connectionStore.list();
  }

  /** The named connection, or the default one (the only one, if there is just one). */
  async getConnection(id: string | undefined): Promise<ConnectionRecord | null> {
    if (id) return this.connectionStore.get(id);
    const all = this.connectionStore.list();
    return all.find((c) => c.is_default) ?? (all.length === 1 ? (all[0] ?? null) : null);
  }

  async updateConnection(id: string, changes: ConnectionChanges): Promise<ConnectionWrite<ConnectionRecord>> {
    return this.connectionStore.update(id, changes, Date.now());
  }

  async deleteConnection(id: string): Promise<boolean> {
    return this.connectionStore.delete(id);
  }

  async addUpload(u: UploadRecord): Promise<void> {
    this.sql.exec(
      'INSERT INTO uploads (id, key, filename, content_type, size, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      u.id,
      u.key,
      u.filename,
      u.content_type,
      u.size,
      u.created_at,
    );
  }

  async getUpload(id: string): Promise<UploadRecord | null> {
    const row = this.sql.exec<Record<string, SqlStorageValue>>('SELECT * FROM uploads WHERE id = ?', id).toArray()[0];
    return row ? (row as unknown as UploadRecord) : null;
  }

  /** The secrets that sign this tenant's webhooks now; `pinned` is its configured initial secret, if any. */
  async webhookSecrets(pinned: string | null): Promise<WebhookSecrets> {
    return this.webhookSecretStore.secrets(pinned, Date.now());
  }

  async rotateWebhookSecret(pinned: string | null): Promise<WebhookSecrets> {
    return this.webhookSecretStore.rotate(pinned, Date.now());
  }

  /** One request of the tenant against its `name` rate (docs/behaviour.md#limits-per-tenant). */
  async takeToken(name: RateBucketName, perMinute: number): Promise<TokenTake> {
    return this.rateBuckets.take(name, perMinute, Date.now());
  }

  /** Takes one of the tenant's `limit` run slots for the job, or says the tenant is at its limit: see {@link RunSlots}. */
  async acquireRunSlot(jobId: string, limit: number): Promise<boolean> {
    return this.runSlots.acquire(jobId, limit, Date.now(), (id) => jobStub(this.env, id).hasCurrentRun());
  }

  async releaseRunSlot(jobId: string): Promise<void> {
    this.runSlots.release(jobId);
  }

  /** A job just created on input `key` asks whether to start with its siblings: see {@link DispatchWindows}. */
  async joinDispatchWindow(key: string, jobId: string, mayLead: boolean): Promise<WindowRole> {
    return this.dispatchWindows.join(key, jobId, mayLead, Date.now());
  }

  /** The window's leader, its wait over, takes the jobs that joined it. */
  async closeDispatchWindow(key: string, leaderId: string): Promise<string[]> {
    return this.dispatchWindows.close(key, leaderId);
  }
}
