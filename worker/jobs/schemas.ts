import { z } from '@hono/zod-openapi';
import { ID_MAX_CHARS, Job, URL_MAX_CHARS } from '../../schemas/job.ts';

/** Route-level schemas of the jobs routes: the job id param and the list query. */

export const JobIdParam = z.object({
  id: z
    .string()
    .max(ID_MAX_CHARS)
    .startsWith('job_')
    .openapi({ param: { name: 'id', in: 'path' }, example: 'job_01jd…' }),
});

/** Filters mirror the job's own fields; the rest is paging. */
export const ListJobsQuery = Job.pick({ kind: true, status: true, input: true })
  .partial()
  .extend({
    input: z.string().max(URL_MAX_CHARS).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    after: z.string().max(ID_MAX_CHARS).startsWith('job_').optional(),
    before: z.string().max(ID_MAX_CHARS).startsWith('job_').optional(),
    order: z.enum(['asc', 'desc']).default('desc'),
  });
