import { z } from '@hono/zod-openapi';
import { ErrorBody, ValidationErrorBody } from '../../schemas/errors.ts';
import { Job } from '../../schemas/job.ts';

/** Route-level schemas shared by the jobs routes: params, list query and error responses. */

export const JobIdParam = z.object({
  id: z.string().startsWith('job_').openapi({ param: { name: 'id', in: 'path' }, example: 'job_01jd…' }),
});

/** Filters mirror the job's own fields; the rest is paging. */
export const ListJobsQuery = Job.pick({ kind: true, status: true, input: true }).partial().extend({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().startsWith('job_').optional(),
  before: z.string().startsWith('job_').optional(),
  order: z.enum(['asc', 'desc']).default('desc'),
});

export const IdempotencyHeader = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .optional()
    .openapi({ description: 'Same key and body within 24 h returns the original job (200).' }),
});

const json = (schema: z.ZodType, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

export const errorResponses = {
  400: json(ValidationErrorBody, 'The request is invalid; `issues` names each field.'),
  401: json(ErrorBody, 'Missing or unknown API key.'),
  404: json(ErrorBody, 'No such job for this API key.'),
} as const;

export { json };
