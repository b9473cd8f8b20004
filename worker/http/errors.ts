import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { type ErrorKind, KilnError } from '../../schemas/errors.ts';
import type { Issue } from '../../schemas/issues.ts';

/** The one place where error kinds become HTTP statuses (docs/api.md#errors). */
export const STATUS_BY_KIND: Partial<Record<ErrorKind, ContentfulStatusCode>> = {
  invalid_input: 400,
  unauthorized: 401,
  job_not_found: 404,
  task_not_found: 404,
  not_found: 404,
  idempotency_key_reused: 409,
  connection_name_taken: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  processor_busy: 503,
  processor_unavailable: 503,
};

/** A request that failed validation; carries one issue per offending field. */
export class ValidationError extends KilnError {
  readonly issues: Issue[];
  constructor(issues: Issue[]) {
    const summary = issues.map((i) => i.message).join('; ');
    super('invalid_input', summary || 'The request is invalid.');
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

/** A request over one of the tenant's rates; answered 429 with `Retry-After` (docs/behaviour.md#limits-per-tenant). */
export class RateLimitedError extends KilnError {
  readonly retryAfterS: number;
  constructor(message: string, retryAfterS: number) {
    super('rate_limited', message);
    this.name = 'RateLimitedError';
    this.retryAfterS = retryAfterS;
  }
}

/**
 * A validation failure of one field.
 *
 * @example throw invalidField('input', 'Expected s3://bucket/key for input');
 */
export function invalidField(path: string, message: string): ValidationError {
  return new ValidationError([{ path, message }]);
}

/** Renders any thrown value as the API's error envelope; unknown errors become a generic 500. */
export function errorResponse(err: unknown, c: Context): Response {
  if (err instanceof ValidationError) {
    return c.json({ kind: err.kind, message: err.message, issues: err.issues }, 400);
  }
  if (err instanceof HTTPException && err.status < 500) {
    // Hono's own body parsing failures (malformed JSON, wrong content type) are the client's to fix.
    const message = `${err.message}; send a valid JSON body with Content-Type: application/json.`;
    if (err.status === 400) return errorResponse(invalidField('body', message), c);
    const kind = err.status === 413 ? 'payload_too_large' : err.status === 415 ? 'unsupported_media_type' : 'invalid_input';
    return c.json({ kind, message }, err.status);
  }
  if (err instanceof RateLimitedError) c.header('Retry-After', String(err.retryAfterS));
  if (err instanceof KilnError) {
    const status = STATUS_BY_KIND[err.kind] ?? 500;
    if (status === 500) console.error('kiln error', err.kind, err.message, err.cause);
    return c.json({ kind: err.kind, message: err.message }, status);
  }
  console.error('unexpected error', err);
  return c.json({ kind: 'internal_error', message: 'Something went wrong on our side; retry the request.' }, 500);
}
