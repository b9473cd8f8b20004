import { base64, fromBase64, hmacSha256 } from '../utils/crypto.ts';

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * Signs a payload per Standard Webhooks: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`, keyed
 * with the base64 part of a `whsec_` secret, one space-separated entry per secret (during a
 * rotation's overlap a receiver holding either secret verifies it). Verifiable with the
 * `standardwebhooks` package.
 *
 * @example await signWebhook(['whsec_…'], 'evt_1', 1732480000, '{"id":"job_…"}')
 */
export async function signWebhook(secrets: readonly string[], id: string, timestampS: number, body: string): Promise<SignedHeaders> {
  const signatures = await Promise.all(
    secrets.map(async (secret) => {
      const key = fromBase64(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret);
      return `v1,${base64(await hmacSha256(key, `${id}.${timestampS}.${body}`))}`;
    }),
  );
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampS), 'webhook-signature': signatures.join(' ') };
}
