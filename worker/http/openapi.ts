/** OpenAPI pieces every feature's routes share: the JSON response, the error responses and the Idempotency-Key header. */
import { z } from '@hono/zod-openapi';
import { ErrorBody, ValidationErrorBody } from '../../schemas/errors.ts';

/**
 * A JSON response for `createRoute`, documented by its zod schema.
 *
 * @example responses: { 200: json(Job, 'The job.'), ...errorResponses }
 */
export const json = (schema: z.ZodType, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

/** The failures any authenticated route can answer with, in the API's error envelope (docs/api.md#errors). */
export const errorResponses = {
  400: json(ValidationErrorBody, 'The request is invalid; `issues` names each field.'),
  401: json(ErrorBody, 'Missing or unknown API key.'),
  404: json(ErrorBody, 'No such job, task, file or connection for this API key.'),
} as const;

/** The answer of a route that counts against one of the tenant's rates (docs/behaviour.md#limits-per-tenant). */
export const rateLimitedResponse = {
  429: {
    ...json(ErrorBody, "Over the tenant's rate (`rate_limited`); retry after `Retry-After` seconds."),
    headers: { 'Retry-After': { schema: { type: 'integer' as const }, description: 'Seconds until the request may succeed.' } },
  },
} as const;

/** The optional `Idempotency-Key` header of the routes that create jobs. */
export const IdempotencyHeader = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .optional()
    .openapi({ description: 'Same key and body within 24 h returns the original job (200).' }),
});

/** The `Warning` header of list routes, naming each query parameter they ignored (worker/http/query.ts). */
export const WarningHeader = {
  Warning: {
    schema: { type: 'string' as const },
    description: 'One `299 kiln "Ignored unknown query parameter <name>"` per query parameter the route ignored.',
  },
} as const;

/**
 * The 200 answer of a list route: a JSON array, with the `Warning` header of ignored query parameters.
 *
 * @example responses: { 200: listJson(Job, 'A page of jobs.'), ...errorResponses }
 */
export const listJson = (item: z.ZodType, description: string) => ({ ...json(z.array(item), description), headers: WarningHeader });
