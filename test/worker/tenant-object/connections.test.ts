import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { type ConnectionRecord, ConnectionStore } from '../../../worker/tenant-object/connections.ts';

const NOW = 1_790_000_000_000;

function record(id: string, name: string, is_default = false): ConnectionRecord {
  return {
    id,
    kind: 's3',
    name,
    endpoint: 'https://s3.us-east-1.amazonaws.com',
    region: 'us-east-1',
    access_key_id: 'AKIA',
    secret_sealed: 'sealed',
    is_default,
    created_at: NOW,
    updated_at: NOW,
  };
}

/** Runs `test` on a fresh TenantObject's SQLite. */
function withSql(test: (sql: SqlStorage) => void): Promise<void> {
  return runInDurableObject(env.TENANTS.get(env.TENANTS.newUniqueId()), (_instance, state) => {
    test(state.storage.sql);
  });
}

describe('connection store', () => {
  it('names connections stored before names existed by their id, and gives them kind s3 and updated_at', async () => {
    await withSql((sql) => {
      // The table as the first release created it, with one connection in it.
      sql.exec(`DROP TABLE IF EXISTS connections`);
      sql.exec(`CREATE TABLE connections (id TEXT PRIMARY KEY, endpoint TEXT NOT NULL, region TEXT NOT NULL,
        access_key_id TEXT NOT NULL, secret_sealed TEXT NOT NULL, is_default INTEGER NOT NULL, created_at INTEGER NOT NULL)`);
      sql.exec(`INSERT INTO connections VALUES ('conn_old', 'http://127.0.0.1:9000', 'auto', 'AKIAOLD', 'sealed', 1, ?)`, NOW);
      const store = new ConnectionStore(sql);
      expect(store.get('conn_old')).toEqual({
        id: 'conn_old',
        kind: 's3',
        name: 'conn_old',
        endpoint: 'http://127.0.0.1:9000',
        region: 'auto',
        access_key_id: 'AKIAOLD',
        secret_sealed: 'sealed',
        is_default: true,
        created_at: NOW,
        updated_at: NOW,
      });
      expect(store.add(record('conn_new', 'conn_old'))).toEqual({ ok: false, reason: 'name_taken' });
      expect(new ConnectionStore(sql).list().map((c) => c.id)).toEqual(['conn_old']);
    });
  });

  it('keeps names unique and one default, and leaves a record unchanged by an empty update but for updated_at', async () => {
    await withSql((sql) => {
      const store = new ConnectionStore(sql);
      store.add(record('conn_a', 'a', true));
      store.add(record('conn_b', 'b'));
      expect(store.update('conn_b', { name: 'a' }, NOW + 1)).toEqual({ ok: false, reason: 'name_taken' });
      expect(store.update('conn_b', { name: 'b' }, NOW + 1)).toMatchObject({ ok: true });
      expect(store.update('conn_missing', {}, NOW + 1)).toEqual({ ok: false, reason: 'not_found' });
      store.add(record('conn_c', 'c', true));
      expect(store.list().map((c) => [c.id, c.is_default])).toEqual([
        ['conn_a', false],
        ['conn_b', false],
        ['conn_c', true],
      ]);
      expect(store.update('conn_a', {}, NOW + 2)).toEqual({ ok: true, value: { ...record('conn_a', 'a'), updated_at: NOW + 2 } });
    });
  });
});
