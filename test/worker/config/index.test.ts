import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { bareKeyTenant, parseApiKeys, parseWebhookPin, readConfig } from '../../../worker/config/index.ts';
import worker from '../../../worker/index.ts';
import { VIDEO_JOB } from '../helpers.ts';

describe('API_KEYS', () => {
  it('maps tenant:key pairs, keeps a key that contains ":" whole, and leaves bare keys their own tenant', () => {
    expect(parseApiKeys('acme:sk_1, beta:sk:with:colons ,sk_bare')).toEqual(
      new Map<string, string | null>([
        ['sk_1', 'acme'],
        ['sk:with:colons', 'beta'],
        ['sk_bare', null],
      ]),
    );
  });

  it.each([
    ['acme:sk_1,,beta:sk_2', 'API_KEYS entry 2 of 3 is empty (a stray comma?)'],
    ['acme:', 'API_KEYS entry 1 of 1 has no key after "acme:"'],
    ['my tenant:sk_secret_1', 'API_KEYS entry 1 of 1 has a tenant name that is not 1–64 letters, digits, _ or -'],
    ['acme:sk_secret_1,beta:sk_secret_1', 'API_KEYS entry 2 of 2 repeats a key given earlier'],
  ])('refuses %j, naming the entry and never the key', (raw, sentence) => {
    expect(() => parseApiKeys(raw)).toThrow(sentence);
    try {
      parseApiKeys(raw);
    } catch (err) {
      expect((err as Error).message).not.toContain('sk_secret_1');
    }
  });

  it('names a bare key tenant after the key, the same every time and different per key', async () => {
    const a = await bareKeyTenant('sk_alpha');
    expect(a).toMatch(/^key-[0-9a-f]{16}$/);
    expect(await bareKeyTenant('sk_alpha')).toBe(a);
    expect(await bareKeyTenant('sk_beta')).not.toBe(a);
  });
});

/** A request to the Worker with API_KEYS set to `apiKeys`, as `key`. */
async function call(apiKeys: string, key: string, path: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://127.0.0.1:8787${path}`, {
      ...init,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    }),
    { ...env, API_KEYS: apiKeys },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe('bare API keys', () => {
  it('are tenants of their own: one key cannot read, list or cancel the other key’s job', async () => {
    const keys = 'sk_bare_alpha_0001,sk_bare_beta_0002';
    const created = await call(keys, 'sk_bare_alpha_0001', '/jobs', { method: 'POST', body: JSON.stringify(VIDEO_JOB) });
    expect(created.status).toBe(201);
    const { id } = await created.json<{ id: string }>();
    expect((await call(keys, 'sk_bare_alpha_0001', `/jobs/${id}`)).status).toBe(200);
    expect((await call(keys, 'sk_bare_beta_0002', `/jobs/${id}`)).status).toBe(404);
    expect((await call(keys, 'sk_bare_beta_0002', `/jobs/${id}/cancel`, { method: 'POST' })).status).toBe(404);
    const listed = await (await call(keys, 'sk_bare_beta_0002', '/jobs')).json<{ id: string }[]>();
    expect(listed.map((j) => j.id)).not.toContain(id);
    const own = await (await call(keys, 'sk_bare_alpha_0001', '/jobs')).json<{ id: string }[]>();
    expect(own.map((j) => j.id)).toContain(id);
  });

  it('fails a request loudly, logging which entry of a malformed API_KEYS is wrong', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const res = await call('dev:kiln_dev_key,,', 'kiln_dev_key', '/jobs');
    expect(res.status).toBe(500);
    expect(logged.mock.calls.flat().join(' ')).toContain('API_KEYS entry 2 of 3 is empty');
    logged.mockRestore();
  });
});

describe('WEBHOOK_SECRET_TENANT', () => {
  const SECRET = 'whsec_c2stcGlubmVkLXNlY3JldC0wMDAx';

  it('pins the named tenant to WEBHOOK_SECRET, and nobody when empty', () => {
    expect(parseWebhookPin('acme', SECRET)).toEqual({ tenant: 'acme', secret: SECRET });
    expect(parseWebhookPin('', SECRET)).toBeNull();
    expect(parseWebhookPin(undefined, undefined)).toBeNull();
  });

  it.each([
    ['acme', undefined, 'WEBHOOK_SECRET_TENANT names acme but the secret WEBHOOK_SECRET is not configured'],
    ['acme', 'sk-pinned-secret-0001', 'The secret WEBHOOK_SECRET is not "whsec_" followed by base64'],
    ['acme', 'whsec_', 'The secret WEBHOOK_SECRET is not "whsec_" followed by base64'],
    ['acme', 'whsec_not base64!', 'The secret WEBHOOK_SECRET is not "whsec_" followed by base64'],
    ['my tenant', SECRET, 'WEBHOOK_SECRET_TENANT is not a tenant name (1–64 letters, digits, _ or -)'],
  ])('refuses tenant %j with secret %j, never echoing the secret', (tenant, secret, sentence) => {
    let message = '';
    try {
      parseWebhookPin(tenant, secret);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe(`${sentence}; see README "Deploy".`);
    if (secret && secret !== 'whsec_') expect(message).not.toContain(secret);
  });
});

describe('per-tenant limits', () => {
  it('default to the documented values and follow their vars', () => {
    expect(
      readConfig({ ...env, RATE_LIMIT_JOBS_PER_MINUTE: '', RATE_LIMIT_UPLOADS_PER_MINUTE: '', TENANT_MAX_CONCURRENT_JOBS: '' }).limits,
    ).toEqual({
      jobsPerMinute: 600,
      uploadsPerMinute: 600,
      maxConcurrentJobs: 20,
    });
    expect(readConfig({ ...env, RATE_LIMIT_JOBS_PER_MINUTE: '30', TENANT_MAX_CONCURRENT_JOBS: '2' }).limits).toMatchObject({
      jobsPerMinute: 30,
      maxConcurrentJobs: 2,
    });
  });

  it('falls back to the default for a value that is not a whole number of 1 or more, and logs it', () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(readConfig({ ...env, TENANT_MAX_CONCURRENT_JOBS: '0.5' }).limits.maxConcurrentJobs).toBe(20);
    expect(logged).toHaveBeenCalledWith('TENANT_MAX_CONCURRENT_JOBS "0.5" is not a whole number of 1 or more; using 20.');
    logged.mockRestore();
  });
});

describe('a malformed value', () => {
  it('fails only what reads it, so callbacks, alarms and the queue keep running jobs moving', () => {
    const config = readConfig({
      ...env,
      API_KEYS: 'acme:sk_1,,sk_2',
      WEBHOOK_SECRET_TENANT: 'acme',
      WEBHOOK_SECRET: 'nope',
      CONNECTION_ENCRYPTION_KEY: 'c2hvcnQ=',
    });
    expect(config.callbackSecret).toBe(env.CALLBACK_SECRET);
    expect(config.heartbeatTimeoutMs).toBeGreaterThan(0);
    expect(() => config.apiKeys).toThrow('API_KEYS entry 2 of 3 is empty');
    expect(() => config.webhookPin).toThrow('WEBHOOK_SECRET');
    expect(() => config.connectionKeys).toThrow('CONNECTION_ENCRYPTION_KEY');
  });
});
