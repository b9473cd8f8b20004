import type { z } from '@hono/zod-openapi';
import type { ListJobsQuery } from '../jobs/schemas.ts';

/** Filters and cursor of GET /jobs (or GET /tasks, whose kinds and statuses are its jobs' rows'), turned into one indexed query over the tenant's job index. */
export type JobListQuery = Omit<z.output<typeof ListJobsQuery>, 'kind' | 'status'> & {
  kind?: string | undefined;
  status?: string | undefined;
  metadata: Record<string, string>;
};

/**
 * Builds the SQL for a page of jobs, or with `of: 'tasks'` of standalone tasks (each row `id` and
 * `job_id`), filtered by their job's row. Ids sort by creation time, so `after`/`before` are id
 * comparisons in the direction of `order`: `after` continues the listing, `before` goes back a
 * page. The jobs behind standalone probe, import and export tasks are tasks only.
 */
export function listJobsSql(q: JobListQuery, of: 'jobs' | 'tasks' = 'jobs'): { sql: string; params: (string | number)[] } {
  const where: string[] = of === 'jobs' ? ["j.kind NOT IN ('probe', 'import', 'export')"] : [];
  const params: (string | number)[] = [];
  const id = of === 'jobs' ? 'j.id' : 't.id';
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
    where.push(desc ? `${id} < ?` : `${id} > ?`);
    params.push(q.after);
  } else if (q.before) {
    where.push(desc ? `${id} > ?` : `${id} < ?`);
    params.push(q.before);
    reverse = true;
  }
  const direction = desc !== reverse ? 'DESC' : 'ASC';
  const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const from = of === 'jobs' ? 'jobs j' : 'tasks t JOIN jobs j ON j.id = t.job_id';
  const page = `SELECT ${id} AS id, j.id AS job_id FROM ${from} ${clause} ORDER BY ${id} ${direction} LIMIT ?`;
  params.push(q.limit + 1);
  // A `before` page is fetched backwards and flipped so every page reads in `order`.
  const sql = reverse ? `SELECT id, job_id FROM (${page}) ORDER BY id ${desc ? 'DESC' : 'ASC'}` : page;
  return { sql, params };
}
