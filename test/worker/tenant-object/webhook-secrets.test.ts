import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { WEBHOOK_SECRET_OVERLAP_MS } from '../../../worker/constants.ts';
import { WebhookSecretStore } from '../../../worker/tenant-object/webhook-secrets.ts';
import { fromBase64 } from '../../../worker/utils/crypto.ts';

const PINNED = 'whsec_a2lsbi1kZXYtd2ViaG9vay1zZWNyZXQ=';
const NOW = 1_790_000_000_000;

/** Runs `test` on a store over a fresh TenantObject's SQLite. */
function withStore(test: (store: WebhookSecretStore) => void): Promise<void> {
  return runInDurableObject(env.TENANTS.get(env.TENANTS.newUniqueId()), (_instance, state) => {
    test(new WebhookSecretStore(state.storage.sql));
  });
}

describe('webhook secret store', () => {
  it('makes a random 32-byte whsec_ secret on first use and keeps it', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2; i++) {
      await withStore((store) => {
        const first = store.secrets(null, NOW);
        expect(first.previous).toBeNull();
        expect(first.current).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
        expect(fromBase64(first.current.slice('whsec_'.length))).toHaveLength(32);
        expect(store.secrets(null, NOW + 1)).toEqual(first);
        seen.add(first.current);
      });
    }
    expect(seen.size).toBe(2);
  });

  it('uses a pinned secret as configured, without storing it, until the first rotation', async () => {
    await withStore((store) => {
      expect(store.secrets(PINNED, NOW)).toEqual({ current: PINNED, previous: null });
      const repinned = 'whsec_b3RoZXItcGlubmVkLXNlY3JldA==';
      expect(store.secrets(repinned, NOW).current).toBe(repinned);
      const rotated = store.rotate(repinned, NOW);
      expect(rotated.current).not.toBe(repinned);
      expect(rotated.previous).toEqual({ secret: repinned, retires_at: NOW + WEBHOOK_SECRET_OVERLAP_MS });
      expect(store.secrets(PINNED, NOW + 1)).toEqual(rotated);
    });
  });

  it('keeps the previous secret signing until the overlap ends, then drops it', async () => {
    await withStore((store) => {
      const before = store.secrets(null, NOW).current;
      const rotated = store.rotate(null, NOW);
      expect(rotated.current).not.toBe(before);
      const retiresAt = NOW + WEBHOOK_SECRET_OVERLAP_MS;
      expect(store.secrets(null, retiresAt)).toEqual({ current: rotated.current, previous: { secret: before, retires_at: retiresAt } });
      expect(store.secrets(null, retiresAt + 1)).toEqual({ current: rotated.current, previous: null });
      expect(store.secrets(null, retiresAt).previous).toBeNull();
    });
  });

  it('ends the older secret at once when rotated again during an overlap: never more than two sign', async () => {
    await withStore((store) => {
      const first = store.secrets(null, NOW).current;
      const second = store.rotate(null, NOW).current;
      const third = store.rotate(null, NOW + 1000);
      expect(third.previous).toEqual({ secret: second, retires_at: NOW + 1000 + WEBHOOK_SECRET_OVERLAP_MS });
      expect(store.secrets(null, NOW + 2000)).toEqual(third);
      expect(JSON.stringify(store.secrets(null, NOW + 2000))).not.toContain(first);
    });
  });
});
