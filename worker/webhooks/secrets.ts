import { type KilnConfig, readConfig } from '../config/index.ts';
import { tenantStub } from '../stubs.ts';

/** The initial secret configuration pins for `tenant` (WEBHOOK_SECRET_TENANT), or null. */
export function pinnedSecret(config: KilnConfig, tenant: string): string | null {
  return config.webhookPin?.tenant === tenant ? config.webhookPin.secret : null;
}

/**
 * The secrets that sign `tenant`'s webhooks at this moment, the current one first; asked at each
 * attempt, so a retry after a rotation carries the new signature (and the old one while it lasts).
 *
 * @example await deliverWebhook({ url, secrets: await signingSecrets(env, 'acme'), eventId, body })
 */
export async function signingSecrets(env: Env, tenant: string): Promise<string[]> {
  const { current, previous } = await tenantStub(env, tenant).webhookSecrets(pinnedSecret(readConfig(env), tenant));
  return previous ? [current, previous.secret] : [current];
}
