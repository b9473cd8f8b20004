import { createExecutionContext, runDurableObjectAlarm, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it, vi } from 'vitest';
import type { WebhookSecret } from '../../../schemas/webhook.ts';
import { WEBHOOK_SECRET_OVERLAP_MS } from '../../../worker/constants.ts';
import worker from '../../../worker/index.ts';
import { jobStub } from '../../../worker/stubs.ts';
import { api, BASE, OUTPUT_INFO, processorDouble, report, VIDEO_JOB } from '../helpers.ts';

const processor = processorDouble();

/**
 * A tenant made for one test (its own key in API_KEYS), so rotating its secret changes nothing
 * another test relies on. `vars` overrides other configuration for its requests.
 */
function freshTenant(vars: (name: string) => Partial<Env> = () => ({})) {
  const name = `t-${crypto.randomUUID().slice(0, 8)}`;
  const key = `sk_${crypto.randomUUID()}`;
  return async function request(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${key}`);
    if (init.json !== undefined) headers.set('content-type', 'application/json');
    const body = init.json === undefined ? init.body : JSON.stringify(init.json);
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`${BASE}${path}`, { ...init, headers, body }),
      { ...env, API_KEYS: `${name}:${key}`, ...vars(name) },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return res;
  };
}

async function secretOf(request: ReturnType<typeof freshTenant>): Promise<WebhookSecret> {
  const res = await request('/webhooks/secret');
  expect(res.status).toBe(200);
  return res.json();
}

async function hooksAt(name: string, count: number) {
  return vi.waitFor(
    async () => {
      const hooks = await processor.hooks(name);
      if (hooks.length < count) throw new Error(`${hooks.length} deliveries of ${name}`);
      return hooks;
    },
    { timeout: 15_000, interval: 50 },
  );
}

describe('GET /webhooks/secret', () => {
  it('answers the dev tenant with WEBHOOK_SECRET, as WEBHOOK_SECRET_TENANT pins it', async () => {
    expect(env.WEBHOOK_SECRET_TENANT).toBe('dev');
    expect(await (await api('/webhooks/secret')).json()).toEqual({
      object: 'webhook_secret',
      secret: env.WEBHOOK_SECRET,
      previous_expires_at: null,
    });
  });

  it('gives every other tenant a random secret of its own, the same on every read', async () => {
    const a = freshTenant();
    const b = freshTenant();
    const secretA = await secretOf(a);
    expect(secretA).toMatchObject({ object: 'webhook_secret', previous_expires_at: null });
    expect(secretA.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(await secretOf(a)).toEqual(secretA);
    expect((await secretOf(b)).secret).not.toBe(secretA.secret);
    expect(secretA.secret).not.toBe(env.WEBHOOK_SECRET);
  });

  it('needs an API key', async () => {
    for (const [method, path] of [
      ['GET', '/webhooks/secret'],
      ['POST', '/webhooks/secret/rotate'],
    ] as const) {
      const res = await api(path, { method, key: null });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ kind: 'unauthorized' });
    }
  });

  it('refuses, naming the setting, a pinned tenant whose WEBHOOK_SECRET is missing or not whsec_', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const broken = freshTenant((name) => ({ WEBHOOK_SECRET_TENANT: name, WEBHOOK_SECRET: 'not-a-whsec-value' }));
    const res = await broken('/webhooks/secret');
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain('not-a-whsec-value');
    expect(logged.mock.calls.flat().join(' ')).toContain('The secret WEBHOOK_SECRET is not "whsec_" followed by base64');
    expect(logged.mock.calls.flat().join(' ')).not.toContain('not-a-whsec-value');
    logged.mockRestore();
  });
});

describe('POST /webhooks/secret/rotate', () => {
  it('makes a new secret; both sign until the overlap ends, then only the new one', async () => {
    const tenant = freshTenant();
    const before = (await secretOf(tenant)).secret;
    const rotatedAt = Date.now();
    const res = await tenant('/webhooks/secret/rotate', { method: 'POST' });
    expect(res.status).toBe(200);
    const rotated = await res.json<WebhookSecret>();
    expect(rotated.secret).not.toBe(before);
    expect(rotated.previous_expires_at).toBeGreaterThanOrEqual(rotatedAt + WEBHOOK_SECRET_OVERLAP_MS);
    expect(await secretOf(tenant)).toEqual(rotated);

    const hook = `rotation-${crypto.randomUUID()}`;
    const job = await (await tenant('/jobs', { method: 'POST', json: { ...VIDEO_JOB, webhook_url: processor.hookUrl(hook) } })).json<{
      id: string;
    }>();
    const [task] = await processor.waitForTasks(job.id);
    await report(task!, { type: 'succeeded', output: OUTPUT_INFO });
    const [during] = await hooksAt(hook, 1);
    expect(during!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    for (const secret of [before, rotated.secret]) {
      expect(new Webhook(secret).verify(during!.body, during!.headers)).toMatchObject({ id: job.id, status: 'succeeded' });
    }

    vi.setSystemTime(rotated.previous_expires_at! + 1);
    try {
      expect((await tenant(`/jobs/${job.id}/deliveries/redeliver`, { method: 'POST' })).status).toBe(202);
      await runDurableObjectAlarm(jobStub(env, job.id));
      expect(await secretOf(tenant)).toEqual({ ...rotated, previous_expires_at: null });
    } finally {
      vi.useRealTimers();
    }
    const [, after] = await hooksAt(hook, 2);
    expect(after!.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    // Verified at the faked time the attempt was signed at, inside the library's 5-minute tolerance.
    vi.setSystemTime(Number(after!.headers['webhook-timestamp']) * 1000);
    try {
      expect(new Webhook(rotated.secret).verify(after!.body, after!.headers)).toMatchObject({ id: job.id });
      expect(() => new Webhook(before).verify(after!.body, after!.headers)).toThrow('No matching signature found');
    } finally {
      vi.useRealTimers();
    }
  });

  it('moves a pinned tenant off WEBHOOK_SECRET to a random secret of its own', async () => {
    const pin = 'whsec_cGlubmVkLWJ5LWNvbmZpZ3VyYXRpb24=';
    const tenant = freshTenant((name) => ({ WEBHOOK_SECRET_TENANT: name, WEBHOOK_SECRET: pin }));
    expect((await secretOf(tenant)).secret).toBe(pin);
    const rotated = await (await tenant('/webhooks/secret/rotate', { method: 'POST' })).json<WebhookSecret>();
    expect(rotated.secret).not.toBe(pin);
    expect(rotated.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(await secretOf(tenant)).toEqual(rotated);
  });
});
