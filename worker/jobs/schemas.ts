import { z } from '@hono/zod-openapi';

/** Route-level schemas of the jobs routes: the job id param and the list query. */

export const JobIdParam = z.object({
  id: z.string().startsWith('job_').openapi({ param: { name: 'id', in: 'path' }, example: 'job_01jd…' }),
});

export const ListJobsQuery = z.object({
  kind: z.enum(['video', 'image', 'audio', 'animation', 'adaptive_video']).optional(),
  status: z.enum(['queued', 'processing', 'succeeded', 'failed', 'cancelled']).optional(),
  input: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().startsWith('job_').optional(),
  before: z.string().startsWith('job_').optional(),
  order: z.enum(['asc', 'desc']).default('desc'),
});
