import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../../worker/config/index.ts';
import { base64, decryptSecret, encryptSecret, importSealingKeys, UnsealError } from '../../../worker/utils/crypto.ts';

const OLD_KEY = env.CONNECTION_ENCRYPTION_KEY;
const NEW_KEY = btoa('another-32-byte-connection-key!!');

/** A secret sealed the way Kiln did before sealed values named their key: `base64(iv).base64(ciphertext)`. */
async function sealedWithoutKeyId(base64Key: string, plaintext: string): Promise<string> {
  const raw = Uint8Array.from(atob(base64Key), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt']);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, new TextEncoder().encode(plaintext));
  return `${base64(iv)}.${base64(data)}`;
}

async function unsealError(promise: Promise<unknown>): Promise<UnsealError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnsealError);
  return err as UnsealError;
}

describe('sealed connection secrets', () => {
  it('seal with the current key, named by its id, and open after a rotation with the previous key', async () => {
    const before = await importSealingKeys({ current: OLD_KEY, previous: [] });
    const sealed = await encryptSecret(before, 'super-secret-value');
    expect(sealed.split('.')[0]).toBe(before.current.id);
    expect(sealed).not.toContain('super-secret-value');
    const after = await importSealingKeys({ current: NEW_KEY, previous: [OLD_KEY] });
    expect(await decryptSecret(after, sealed)).toBe('super-secret-value');
    expect((await encryptSecret(after, 'x')).split('.')[0]).toBe(after.current.id);
    expect(after.current.id).not.toBe(before.current.id);
  });

  it('open values sealed before key ids existed, with the current or a previous key', async () => {
    const legacy = await sealedWithoutKeyId(OLD_KEY, 'from-before-key-ids');
    expect(await decryptSecret(await importSealingKeys({ current: OLD_KEY, previous: [] }), legacy)).toBe('from-before-key-ids');
    expect(await decryptSecret(await importSealingKeys({ current: NEW_KEY, previous: [OLD_KEY] }), legacy)).toBe('from-before-key-ids');
    const lost = await unsealError(decryptSecret(await importSealingKeys({ current: NEW_KEY, previous: [] }), legacy));
    expect(lost.reason).toBe('wrong_keys');
  });

  it('say which key is missing, or that the value is damaged', async () => {
    const old = await importSealingKeys({ current: OLD_KEY, previous: [] });
    const sealed = await encryptSecret(old, 'v');
    const missing = await unsealError(decryptSecret(await importSealingKeys({ current: NEW_KEY, previous: [] }), sealed));
    expect(missing).toMatchObject({ reason: 'unknown_key', keyId: old.current.id });
    const [id, iv, data] = sealed.split('.');
    const tampered = `${id}.${iv}.${data!.startsWith('A') ? 'B' : 'A'}${data!.slice(1)}`;
    expect((await unsealError(decryptSecret(old, tampered))).reason).toBe('corrupt');
    expect((await unsealError(decryptSecret(old, 'not-sealed'))).reason).toBe('corrupt');
  });

  it('refuse a malformed key wherever the keys are needed, naming the variable and the entry', () => {
    expect(() => readConfig({ ...env, CONNECTION_ENCRYPTION_KEY: 'c2hvcnQ=' }).connectionKeys).toThrow(
      'The secret CONNECTION_ENCRYPTION_KEY is not 32 bytes of base64 (openssl rand -base64 32); see README "Deploy".',
    );
    expect(() => readConfig({ ...env, CONNECTION_ENCRYPTION_KEYS_PREVIOUS: `${OLD_KEY}, nope` }).connectionKeys).toThrow(
      'Entry 2 of CONNECTION_ENCRYPTION_KEYS_PREVIOUS is not 32 bytes of base64',
    );
    expect(readConfig({ ...env, CONNECTION_ENCRYPTION_KEYS_PREVIOUS: ` ${OLD_KEY} , ${NEW_KEY}` }).connectionKeys.previous).toEqual([
      OLD_KEY,
      NEW_KEY,
    ]);
  });
});
