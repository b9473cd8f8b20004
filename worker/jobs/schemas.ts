import { z } from '@hono/zod-openapi';
import { Job } from '../../schemas/job.ts';

/** Route-level schemas of the jobs routes: the job id param and the list query. */

export const JobIdParam = z.object({
  id: z
    .string()
    .startsWith('job_')
    .openapi({ param: { name: 'id', in: 'path' }, example: 'job_01jd…' }),
});

/** Filters mirror the job's own fields; the rest is paging. */
export const ListJobsQuery = Job.pick({ kind: true, status: true, input: true })
  .partial()
  .extend({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    after: z.string().startsWith('job_').optional(),
    before: z.string().startsWith('job_').optional(),
    order: z.enum(['asc', 'desc']).default('desc'),
  });
