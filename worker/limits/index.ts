import { createMiddleware } from 'hono/factory';
import type { AuthVariables } from '../auth/index.ts';
import { type KilnConfig, readConfig } from '../config/index.ts';
import { RateLimitedError } from '../http/errors.ts';
import { tenantStub } from '../stubs.ts';
import type { RateBucketName } from '../tenant-object/limits.ts';

/** What each rate counts (for the 429's message), the var that sets it and where the config keeps it. */
const RATES = {
  jobs: { what: 'jobs and tasks created', variable: 'RATE_LIMIT_JOBS_PER_MINUTE', limit: 'jobsPerMinute' },
  uploads: { what: 'uploads', variable: 'RATE_LIMIT_UPLOADS_PER_MINUTE', limit: 'uploadsPerMinute' },
} as const satisfies Record<RateBucketName, { what: string; variable: string; limit: keyof KilnConfig['limits'] }>;

/**
 * Holds the caller's tenant to one of its rates (docs/behaviour.md#limits-per-tenant): beyond it the request
 * is refused with `429 rate_limited` and `Retry-After` before any work is done. Goes after
 * {@link apiKeyAuth}, which names the tenant. Each tenant has its own count, so one tenant's burst
 * never slows another.
 *
 * @example app.on('POST', '/jobs', rateLimit('jobs'))
 */
export function rateLimit(bucket: RateBucketName) {
  return createMiddleware<{ Bindings: Env; Variables: AuthVariables }>(async function rateLimit(c, next) {
    const rate = RATES[bucket];
    const perMinute = readConfig(c.env).limits[rate.limit];
    const taken = await tenantStub(c.env, c.get('tenant')).takeToken(bucket, perMinute);
    if (!taken.allowed) {
      throw new RateLimitedError(
        `Too many ${rate.what} for this tenant: the limit is ${perMinute} a minute (${rate.variable}). Retry after ${taken.retryAfterS} s.`,
        taken.retryAfterS,
      );
    }
    await next();
  });
}
