import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../../worker/config/index.ts';
import { tenantStub } from '../../../worker/stubs.ts';
import { decryptSecret, importSealingKeys } from '../../../worker/utils/crypto.ts';
import { api, VIDEO_JOB } from '../helpers.ts';

const CONNECTION = {
  endpoint: 'http://127.0.0.1:9000',
  region: 'us-east-1',
  access_key_id: 'AKIAEXAMPLE',
  secret_access_key: 'super-secret-value',
};

/** Ittybit's create body from its connections docs and R2 guides, with a concrete account in place of `<account>`. */
const ITTYBIT_R2 = {
  kind: 's3',
  name: 'my-r2',
  endpoint: 'https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com',
  region: 'auto',
  access_key_id: 'r2-access-key-id',
  secret_access_key: 'r2-secret-access-key',
};

interface ConnectionView {
  id: string;
  object: string;
  kind: string;
  name: string;
  endpoint: string;
  region: string;
  access_key_id: string;
  is_default: boolean;
  created_at: number;
  updated_at: number;
}

type ErrorAnswer = { kind: string; message: string; issues?: { path: string; message: string }[] };

/** A name no other test of the file uses, so their connections never collide. */
const unique = (name: string) => `${name}-${crypto.randomUUID().slice(0, 8)}`;

async function createConnection(body: Record<string, unknown>, key?: string): Promise<ConnectionView> {
  const res = await api('/connections', { method: 'POST', json: body, key });
  if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${await res.text()}`);
  return res.json();
}

const patch = (id: string, json: unknown) => api(`/connections/${id}`, { method: 'PATCH', json });
const remove = (...ids: string[]) => Promise.all(ids.map((id) => api(`/connections/${id}`, { method: 'DELETE' })));

describe('connections', () => {
  it('stores a connection without ever returning its secret, lists and deletes it', async () => {
    const created = await api('/connections', { method: 'POST', json: CONNECTION, key: 'other_tenant_key' });
    expect(created.status).toBe(201);
    const text = await created.text();
    expect(text).not.toContain('super-secret-value');
    const conn = JSON.parse(text) as { id: string; is_default: boolean };
    expect(conn.id).toMatch(/^conn_/);
    expect(conn.is_default).toBe(true);
    const list = await (await api('/connections', { key: 'other_tenant_key' })).text();
    expect(list).toContain(conn.id);
    expect(list).not.toContain('super-secret-value');
    expect((await api('/connections')).status).toBe(200);
    expect(await (await api('/connections')).text()).not.toContain(conn.id);
    expect((await api(`/connections/${conn.id}`, { method: 'DELETE' })).status).toBe(404);
    expect((await api(`/connections/${conn.id}`, { method: 'DELETE', key: 'other_tenant_key' })).status).toBe(200);
  });

  it('needs a connection for s3:// inputs and outputs, and names the field', async () => {
    const res = await api('/jobs', { method: 'POST', json: { ...VIDEO_JOB, input: 's3://uploads/clip.mov' }, key: 'other_tenant_key' });
    expect(res.status).toBe(400);
    expect((await res.json<{ issues: { path: string }[] }>()).issues[0]?.path).toBe('input');
  });

  it('refuses endpoints on private or metadata addresses', async () => {
    const res = await api('/connections', { method: 'POST', json: { ...CONNECTION, endpoint: 'http://169.254.169.254' } });
    expect(res.status).toBe(400);
    expect((await res.json<{ issues: { path: string }[] }>()).issues[0]?.path).toBe('endpoint');
  });
});

describe("Ittybit's connection shape", () => {
  it("accepts Ittybit's create body verbatim and answers a storage_connection without the secret", async () => {
    const res = await api('/connections', { method: 'POST', json: ITTYBIT_R2 });
    expect(res.status).toBe(201);
    const text = await res.text();
    expect(text).not.toContain(ITTYBIT_R2.secret_access_key);
    const conn = JSON.parse(text) as ConnectionView;
    expect(conn).toEqual({
      id: expect.stringMatching(/^conn_[0-9a-z]{26}$/),
      object: 'storage_connection',
      kind: 's3',
      name: 'my-r2',
      endpoint: ITTYBIT_R2.endpoint,
      region: 'auto',
      access_key_id: 'r2-access-key-id',
      is_default: expect.any(Boolean),
      created_at: expect.any(Number),
      updated_at: conn.created_at,
    });
    expect(await (await api(`/connections/${conn.id}`)).json()).toEqual(conn);
    expect(await (await api('/connections')).json()).toContainEqual(conn);
    await remove(conn.id);
  });

  it("keeps Kiln's older body working: kind s3, named by its id", async () => {
    const conn = await createConnection(CONNECTION);
    expect(conn).toMatchObject({ object: 'storage_connection', kind: 's3', name: conn.id, endpoint: CONNECTION.endpoint });
    await remove(conn.id);
  });

  it('still refuses fields it does not know on create, naming them', async () => {
    const res = await api('/connections', { method: 'POST', json: { ...ITTYBIT_R2, name: unique('strict'), bucket: 'media' } });
    expect(res.status).toBe(400);
    expect((await res.json<ErrorAnswer>()).issues).toEqual([
      { path: 'bucket', message: 'Unknown field bucket; remove it or check its spelling' },
    ]);
  });

  it('refuses any kind but s3, naming kind', async () => {
    const res = await api('/connections', { method: 'POST', json: { ...ITTYBIT_R2, kind: 'gcs', name: unique('gcs') } });
    expect(res.status).toBe(400);
    expect((await res.json<ErrorAnswer>()).issues).toEqual([
      { path: 'kind', message: 'Expected one of "s3" for kind but received "gcs" of type string' },
    ]);
  });

  it('answers 409 connection_name_taken for a second connection, or a rename, to a name in use', async () => {
    const name = unique('media');
    const first = await createConnection({ ...ITTYBIT_R2, name });
    const again = await api('/connections', { method: 'POST', json: { ...ITTYBIT_R2, name } });
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({
      kind: 'connection_name_taken',
      message: `Another connection of this API key is named "${name}"; choose another name, or rename that connection with PATCH /connections/{id}.`,
    });
    const other = await createConnection({ ...ITTYBIT_R2, name: unique('other') });
    const rename = await patch(other.id, { name });
    expect(rename.status).toBe(409);
    expect(await rename.json()).toMatchObject({ kind: 'connection_name_taken' });
    // The same name in another tenant is another connection.
    const theirs = await createConnection({ ...ITTYBIT_R2, name }, 'other_tenant_key');
    await api(`/connections/${theirs.id}`, { method: 'DELETE', key: 'other_tenant_key' });
    await remove(first.id, other.id);
  });

  it('renames, moves the endpoint and region, and rotates both credentials together, never returning the secret', async () => {
    const conn = await createConnection({ ...ITTYBIT_R2, name: unique('rotate') });
    const name = unique('renamed');
    const res = await patch(conn.id, {
      name,
      endpoint: 'https://s3.us-east-1.amazonaws.com',
      region: 'us-east-1',
      access_key_id: 'AKIANEWKEY',
      secret_access_key: 'the-new-secret',
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain('the-new-secret');
    const changed = JSON.parse(text) as ConnectionView;
    expect(changed).toEqual({
      ...conn,
      name,
      endpoint: 'https://s3.us-east-1.amazonaws.com',
      region: 'us-east-1',
      access_key_id: 'AKIANEWKEY',
      updated_at: expect.any(Number),
    });
    expect(changed.updated_at).toBeGreaterThanOrEqual(conn.updated_at);
    expect(await (await api(`/connections/${conn.id}`)).json()).toEqual(changed);
    const stored = await tenantStub(env, 'dev').getConnection(conn.id);
    const keys = await importSealingKeys(readConfig(env).connectionKeys);
    expect(await decryptSecret(keys, stored!.secret_sealed)).toBe('the-new-secret');
    await remove(conn.id);
  });

  it.each([
    [
      { access_key_id: 'AKIAONLY' },
      'secret_access_key',
      'Expected a value alongside access_key_id (credentials rotate as a pair) for secret_access_key but received nothing',
    ],
    [
      { secret_access_key: 'only-the-secret' },
      'access_key_id',
      'Expected a value alongside secret_access_key (credentials rotate as a pair) for access_key_id but received nothing',
    ],
    [{ kind: 'azure' }, 'kind', 'Expected one of "s3" for kind but received "azure" of type string'],
    [
      { endpoint: 'http://10.0.0.7:9000' },
      'endpoint',
      'endpoint points at a private, link-local or reserved address, which Kiln never contacts',
    ],
    [{ name: '' }, 'name', 'Expected a string of length >= 1 for name but received "" of type string'],
    [{ is_default: 'yes' }, 'is_default', 'Expected boolean for is_default but received "yes" of type string'],
    [{ bucket: 'media' }, 'bucket', 'Unknown field bucket; remove it or check its spelling'],
  ])('refuses PATCH %j naming %s', async (body, path, message) => {
    const conn = await createConnection({ ...ITTYBIT_R2, name: unique('bad-patch') });
    const res = await patch(conn.id, body);
    expect(res.status).toBe(400);
    expect((await res.json<ErrorAnswer>()).issues).toEqual([{ path, message }]);
    expect(await (await api(`/connections/${conn.id}`)).json()).toEqual(conn);
    await remove(conn.id);
  });

  it('is_default: true moves the default; is_default: false on the default leaves none', async () => {
    const a = await createConnection({ ...ITTYBIT_R2, name: unique('a'), is_default: true });
    const b = await createConnection({ ...ITTYBIT_R2, name: unique('b') });
    expect([a.is_default, b.is_default]).toEqual([true, false]);
    expect(await (await patch(b.id, { is_default: true })).json()).toMatchObject({ id: b.id, is_default: true });
    expect(await (await api(`/connections/${a.id}`)).json()).toMatchObject({ is_default: false });
    expect(await (await patch(b.id, { is_default: false })).json()).toMatchObject({ id: b.id, is_default: false });
    const all = await (await api('/connections')).json<ConnectionView[]>();
    expect(all.filter((c) => c.is_default)).toEqual([]);
    await remove(a.id, b.id);
  });

  it("answers an id Kiln never issued, such as Ittybit's con_ example, with the same 404 as any missing one", async () => {
    for (const [path, init] of [
      ['/connections/con_abcdefgh12345678', {}],
      ['/connections/con_abcdefgh12345678', { method: 'PATCH', json: { name: 'x' } }],
      ['/connections/con_abcdefgh12345678', { method: 'DELETE' }],
    ] as const) {
      const res = await api(path, init);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ kind: 'not_found', message: 'No connection con_abcdefgh12345678 exists for this API key.' });
    }
  });
});

describe("a job's connection_id", () => {
  it('accepts the id Kiln issued for an s3:// output', async () => {
    const conn = await createConnection({ ...ITTYBIT_R2, name: unique('output') });
    const res = await api('/jobs', {
      method: 'POST',
      json: { ...VIDEO_JOB, output: 's3://my-bucket/videos/clip.mp4', connection_id: conn.id },
    });
    expect(res.status).toBe(201);
    await remove(conn.id);
  });

  it.each([
    ['an s3:// input', { input: 's3://my-bucket/uploads/clip.mov' }],
    ['an s3:// output', { output: 's3://my-bucket/videos/clip.mp4' }],
    ['no s3:// at all', {}],
  ])('answers an Ittybit-style con_ id Kiln never issued, with %s, as no such connection', async (_case, fields) => {
    const res = await api('/jobs', { method: 'POST', json: { ...VIDEO_JOB, ...fields, connection_id: 'con_abcdefgh12345678' } });
    expect(res.status).toBe(400);
    expect((await res.json<ErrorAnswer>()).issues).toEqual([
      {
        path: 'connection_id',
        message: 'No connection con_abcdefgh12345678 exists for this API key; list yours with GET /connections',
      },
    ]);
  });
});
