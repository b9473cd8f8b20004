/** Small Web Crypto helpers shared by auth, callback tokens, webhooks and connection secrets. */

const encoder = new TextEncoder();

export function base64(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = '';
  for (const b of view) s += String.fromCharCode(b);
  return btoa(s);
}

export function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export async function sha256Hex(text: string): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

export async function hmacSha256(key: Uint8Array | string, message: string): Promise<ArrayBuffer> {
  const raw = typeof key === 'string' ? encoder.encode(key) : key;
  const cryptoKey = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return crypto.subtle.sign('HMAC', cryptoKey, encoder.encode(message));
}

/**
 * Compares two secrets in constant time. Both sides are hashed first so the comparison never
 * depends on (or leaks) their lengths.
 */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([
    crypto.subtle.digest('SHA-256', encoder.encode(a)),
    crypto.subtle.digest('SHA-256', encoder.encode(b)),
  ]);
  return crypto.subtle.timingSafeEqual(ha, hb);
}

/**
 * The keys that seal connection secrets: `current` seals, and any of them opens what it sealed.
 * Each key is named by its id, a fingerprint of the key, so a sealed value says which key opens it
 * and a key can be rotated without re-sealing every stored secret.
 */
export interface SealingKeys {
  current: SealingKey;
  previous: SealingKey[];
}

export interface SealingKey {
  /** 16 hex digits of a hash of the key: names it in sealed values and messages, never reveals it. */
  id: string;
  key: CryptoKey;
}

/** The 32 bytes of a base64 sealing key, or null when the text is not that (the caller names its variable). */
export function sealingKeyBytes(base64Key: string): Uint8Array | null {
  try {
    const raw = fromBase64(base64Key.trim());
    return raw.length === 32 ? raw : null;
  } catch {
    return null;
  }
}

/** Imports sealing keys checked by {@link sealingKeyBytes} (readConfig checks them for every request). */
export async function importSealingKeys(base64Keys: { current: string; previous: string[] }): Promise<SealingKeys> {
  const one = async (text: string): Promise<SealingKey> => {
    const raw = sealingKeyBytes(text);
    if (!raw) throw new Error('a sealing key is not 32 bytes of base64');
    const digest = await crypto.subtle.digest('SHA-256', new Uint8Array([...encoder.encode('kiln-sealing-key:'), ...raw]));
    return { id: hex(digest).slice(0, 16), key: await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']) };
  };
  return { current: await one(base64Keys.current), previous: await Promise.all(base64Keys.previous.map(one)) };
}

/** Why a sealed secret did not open: see {@link decryptSecret}. */
export class UnsealError extends Error {
  readonly reason: 'unknown_key' | 'wrong_keys' | 'corrupt';
  readonly keyId: string | null;
  constructor(reason: UnsealError['reason'], keyId: string | null) {
    super(`sealed secret does not open: ${reason}${keyId ? ` (key ${keyId})` : ''}`);
    this.name = 'UnsealError';
    this.reason = reason;
    this.keyId = keyId;
  }
}

/** AES-256-GCM with a random 96-bit IV under the current key; the result is `keyId.base64(iv).base64(ciphertext)`. */
export async function encryptSecret(keys: SealingKeys, plaintext: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, keys.current.key, encoder.encode(plaintext));
  return `${keys.current.id}.${base64(iv)}.${base64(sealed)}`;
}

/**
 * Opens a secret sealed by {@link encryptSecret} with whichever of `keys` its id names. Values
 * sealed before key ids existed (`base64(iv).base64(ciphertext)`) are tried with every key.
 * Throws an {@link UnsealError}: `unknown_key` when no configured key has the value's id,
 * `wrong_keys` when no key opens an id-less value, `corrupt` when the value is damaged.
 */
export async function decryptSecret(keys: SealingKeys, sealed: string): Promise<string> {
  const parts = sealed.split('.');
  const [keyId, iv, data] = parts.length === 3 ? parts : [null, ...parts];
  if (!iv || !data || parts.length > 3) throw new UnsealError('corrupt', keyId ?? null);
  const all = [keys.current, ...keys.previous];
  const candidates = keyId === null ? all : all.filter((k) => k.id === keyId);
  if (candidates.length === 0) throw new UnsealError('unknown_key', keyId ?? null);
  let ivBytes: Uint8Array;
  let dataBytes: Uint8Array;
  try {
    ivBytes = fromBase64(iv);
    dataBytes = fromBase64(data);
  } catch {
    throw new UnsealError('corrupt', keyId ?? null);
  }
  for (const candidate of candidates) {
    try {
      return new TextDecoder().decode(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: ivBytes }, candidate.key, dataBytes));
    } catch {
      // GCM's tag check: not this key (or a damaged value); try the next.
    }
  }
  throw new UnsealError(keyId === null ? 'wrong_keys' : 'corrupt', keyId ?? null);
}
