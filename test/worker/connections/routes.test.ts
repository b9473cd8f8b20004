import { describe, expect, it } from 'vitest';
import { api, VIDEO_JOB } from '../helpers.ts';

const CONNECTION = {
  endpoint: 'http://127.0.0.1:9000',
  region: 'us-east-1',
  access_key_id: 'AKIAEXAMPLE',
  secret_access_key: 'super-secret-value',
};

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
