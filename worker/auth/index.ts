import { createMiddleware } from 'hono/factory';
import { bearerToken } from '../../common/bearer.ts';
import { KilnError } from '../../schemas/errors.ts';
import { readConfig } from '../config/index.ts';
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
    let tenant: string | undefined;
    for (const [key, owner] of readConfig(c.env).apiKeys) {
      if ((await secretsEqual(presented, key)) && tenant === undefined) tenant = owner;
    }
    if (tenant === undefined) throw new KilnError('unauthorized', 'The API key is not valid.');
    c.set('tenant', tenant);
    await next();
  });
}
