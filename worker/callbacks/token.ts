import { hex, hmacSha256, secretsEqual } from '../utils/crypto.ts';

/** The bearer token a processor run uses to report back: bound to one job and one attempt. */
export async function callbackToken(secret: string, jobId: string, attempt: number): Promise<string> {
  return hex(await hmacSha256(secret, `kiln-callback.${jobId}.${attempt}`));
}

export async function verifyCallbackToken(secret: string, jobId: string, attempt: number, presented: string): Promise<boolean> {
  return secretsEqual(presented, await callbackToken(secret, jobId, attempt));
}
