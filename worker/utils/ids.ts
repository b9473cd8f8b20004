/**
 * Sortable, unguessable ids: `prefix_` + 10 chars of millisecond time + 16 random chars, in
 * Crockford base32 (ULID's layout), so ids sort by creation time and cannot be enumerated.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export type IdPrefix = 'job' | 'task' | 'file' | 'conn' | 'evt' | 'dlv';

export function newId(prefix: IdPrefix, now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let random = '';
  for (const b of bytes) random += ALPHABET[b % 32];
  return `${prefix}_${time}${random}`;
}
