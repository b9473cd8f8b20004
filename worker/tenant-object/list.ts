import type { z } from '@hono/zod-openapi';
import type { ListJobsQuery } from '../jobs/schemas.ts';

/** Filters and cursor of GET /jobs, turned into one indexed query over the tenant's job index. */
export type JobListQuery = z.output<typeof ListJobsQuery> & { metadata: Record<string, string> };

/**
 * Builds the SQL for a page. Ids sort by creation time, so `after`/`before` are id comparisons
 * in the direction of `order`: `after` continues the listing, `before` goes back a page.
 */
export function listJobsSql(q: JobListQuery): { sql: string; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  for (const [column, value] of [
    ['kind', q.kind],
    ['status', q.status],
    ['input', q.input],
  ] as const) {
    if (value !== undefined) {
      where.push(`j.${column} = ?`);
      params.push(value);
    }
  }
  for (const [key, value] of Object.entries(q.metadata)) {
    where.push('EXISTS (SELECT 1 FROM job_metadata m WHERE m.job_id = j.id AND m.key = ? AND m.value = ?)');
    params.push(key, value);
  }
  const desc = q.order === 'desc';
  let reverse = false;
  if (q.after) {
    where.push(desc ? 'j.id < ?' : 'j.id > ?');
    params.push(q.after);
  } else if (q.before) {
    where.push(desc ? 'j.id > ?' : 'j.id < ?');
    params.push(q.before);
    reverse = true;
  }
  const direction = desc !== reverse ? 'DESC' : 'ASC';
  const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const page = `SELECT j.id FROM jobs j ${clause} ORDER BY j.id ${direction} LIMIT ?`;
  params.push(q.limit + 1);
  // A `before` page is fetched backwards and flipped so every page reads in `order`.
  const sql = reverse ? `SELECT id FROM (${page}) ORDER BY id ${desc ? 'DESC' : 'ASC'}` : page;
  return { sql, params };
}
