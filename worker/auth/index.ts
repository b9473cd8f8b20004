import { createMiddleware } from 'hono/factory';
import { bearerToken } from '../../common/bearer.ts';
import { KilnError } from '../../schemas/errors.ts';
import { bareKeyTenant, readConfig } from '../config/index.ts';
import { secretsEqual } from '../utils/crypto.ts';

export interface AuthVariables {
  /** The tenant the API key belongs to; every store lookup is scoped by it. */
  tenant: string;
}

/**
 * Bearer-key auth. Every configured key is compared in constant time (no early exit), so response
 * time does not reveal which key, or how much of one, matched.
 *
 * @example app.use('/jobs/*', apiKeyAuth())
 */
export function apiKeyAuth() {
  return createMiddleware<{ Bindings: Env; Variables: AuthVariables }>(async function apiKeyAuth(c, next) {
    const token = bearerToken(c.req.header('authorization'));
    if (!token) throw new KilnError('unauthorized', 'Send your API key as "Authorization: Bearer <key>".');
    const presented = token.trim();
    let matched: { key: string; tenant: string | null } | undefined;
    for (const [key, tenant] of readConfig(c.env).apiKeys) {
      if ((await secretsEqual(presented, key)) && matched === undefined) matched = { key, tenant };
    }
    if (matched === undefined) throw new KilnError('unauthorized', 'The API key is not valid.');
    c.set('tenant', matched.tenant ?? (await bareKeyTenant(matched.key)));
    await next();
  });
}
