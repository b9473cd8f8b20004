/** A tenant's S3 connections in its Durable Object's SQLite (docs/api.md#connections). */

export interface ConnectionRecord {
  id: string;
  kind: 's3';
  name: string;
  endpoint: string;
  region: string;
  access_key_id: string;
  secret_sealed: string;
  is_default: boolean;
  created_at: number;
  updated_at: number;
}

/** What PATCH /connections/{id} may change; the key id and its sealed secret come together. */
export type ConnectionChanges = Partial<Pick<ConnectionRecord, 'name' | 'endpoint' | 'region' | 'is_default'>> & {
  credentials?: Pick<ConnectionRecord, 'access_key_id' | 'secret_sealed'>;
};

export type ConnectionWrite<T> = { ok: true; value: T } | { ok: false; reason: 'not_found' | 'name_taken' };

/** Columns added after the first release, with how rows stored before them are filled in. */
const ADDED_COLUMNS = [
  { name: 'kind', add: "ALTER TABLE connections ADD COLUMN kind TEXT NOT NULL DEFAULT 's3'", fill: null },
  // A connection from before names existed is named by its id, which no other connection can hold.
  { name: 'name', add: 'ALTER TABLE connections ADD COLUMN name TEXT', fill: 'UPDATE connections SET name = id WHERE name IS NULL' },
  {
    name: 'updated_at',
    add: 'ALTER TABLE connections ADD COLUMN updated_at INTEGER',
    fill: 'UPDATE connections SET updated_at = created_at WHERE updated_at IS NULL',
  },
] as const;

function fromRow(row: Record<string, SqlStorageValue>): ConnectionRecord {
  return { ...(row as unknown as ConnectionRecord), is_default: row.is_default === 1 };
}

/**
 * The connections table: names are unique per tenant, and at most one connection is the default.
 * Each method runs without awaiting, so a check and its write are atomic in the single-threaded
 * object.
 */
export class ConnectionStore {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS connections (id TEXT PRIMARY KEY, endpoint TEXT NOT NULL, region TEXT NOT NULL,
      access_key_id TEXT NOT NULL, secret_sealed TEXT NOT NULL, is_default INTEGER NOT NULL, created_at INTEGER NOT NULL)`);
    const columns = new Set(
      sql
        .exec<{ name: string }>(`SELECT name FROM pragma_table_info('connections')`)
        .toArray()
        .map((c) => c.name),
    );
    for (const column of ADDED_COLUMNS) {
      if (columns.has(column.name)) continue;
      sql.exec(column.add);
      if (column.fill) sql.exec(column.fill);
    }
    sql.exec('CREATE UNIQUE INDEX IF NOT EXISTS connections_name ON connections (name)');
  }

  add(c: ConnectionRecord): ConnectionWrite<ConnectionRecord> {
    if (this.nameTaken(c.name, c.id)) return { ok: false, reason: 'name_taken' };
    if (c.is_default) this.sql.exec('UPDATE connections SET is_default = 0');
    this.sql.exec(
      `INSERT INTO connections (id, kind, name, endpoint, region, access_key_id, secret_sealed, is_default, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      c.id,
      c.kind,
      c.name,
      c.endpoint,
      c.region,
      c.access_key_id,
      c.secret_sealed,
      c.is_default ? 1 : 0,
      c.created_at,
      c.updated_at,
    );
    return { ok: true, value: c };
  }

  list(): ConnectionRecord[] {
    return this.sql.exec<Record<string, SqlStorageValue>>('SELECT * FROM connections ORDER BY created_at, id').toArray().map(fromRow);
  }

  get(id: string): ConnectionRecord | null {
    const row = this.sql.exec<Record<string, SqlStorageValue>>('SELECT * FROM connections WHERE id = ?', id).toArray()[0];
    return row ? fromRow(row) : null;
  }

  /**
   * Applies `changes` to connection `id`. `is_default: true` moves the default here;
   * `is_default: false` leaves the tenant without a default if this one was it.
   */
  update(id: string, changes: ConnectionChanges, now: number): ConnectionWrite<ConnectionRecord> {
    const current = this.get(id);
    if (!current) return { ok: false, reason: 'not_found' };
    if (changes.name !== undefined && this.nameTaken(changes.name, id)) return { ok: false, reason: 'name_taken' };
    const next: ConnectionRecord = {
      ...current,
      name: changes.name ?? current.name,
      endpoint: changes.endpoint ?? current.endpoint,
      region: changes.region ?? current.region,
      is_default: changes.is_default ?? current.is_default,
      ...changes.credentials,
      updated_at: now,
    };
    if (next.is_default && !current.is_default) this.sql.exec('UPDATE connections SET is_default = 0');
    this.sql.exec(
      `UPDATE connections SET name = ?, endpoint = ?, region = ?, access_key_id = ?, secret_sealed = ?, is_default = ?, updated_at = ?
       WHERE id = ?`,
      next.name,
      next.endpoint,
      next.region,
      next.access_key_id,
      next.secret_sealed,
      next.is_default ? 1 : 0,
      next.updated_at,
      id,
    );
    return { ok: true, value: next };
  }

  delete(id: string): boolean {
    return this.sql.exec('DELETE FROM connections WHERE id = ?', id).rowsWritten > 0;
  }

  private nameTaken(name: string, exceptId: string): boolean {
    return this.sql.exec('SELECT 1 FROM connections WHERE name = ? AND id != ?', name, exceptId).toArray().length > 0;
  }
}
