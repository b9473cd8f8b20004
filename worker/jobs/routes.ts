import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ErrorBody, jobNotFoundError, KilnError } from '../../schemas/errors.ts';
import { Job, JobCreate, JobEvent, METADATA_VALUE_MAX_CHARS } from '../../schemas/job.ts';
import { type AppEnv, createRouter } from '../http/app.ts';
import { ValidationError } from '../http/errors.ts';
import { errorResponses, IdempotencyHeader, json, rateLimitedResponse } from '../http/openapi.ts';
import { jobStub, tenantStub } from '../stubs.ts';
import { publicJob } from '../tasks/view.ts';
import { submitJob } from './create.ts';
import { JobIdParam, ListJobsQuery } from './schemas.ts';

const createJob = createRoute({
  method: 'post',
  path: '/jobs',
  summary: 'Create a job',
  request: { body: { content: { 'application/json': { schema: JobCreate } }, required: true }, headers: IdempotencyHeader },
  responses: {
    201: json(Job, 'The job was created and queued.'),
    200: json(Job, 'Replay: the job first created with this Idempotency-Key.'),
    409: json(ErrorBody, 'The Idempotency-Key was used with a different body.'),
    ...errorResponses,
    ...rateLimitedResponse,
  },
});

const getJob = createRoute({
  method: 'get',
  path: '/jobs/{id}',
  summary: 'Retrieve a job',
  request: { params: JobIdParam },
  responses: { 200: json(Job, 'The job.'), ...errorResponses },
});

const listJobs = createRoute({
  method: 'get',
  path: '/jobs',
  summary: 'List jobs, newest first; filter by kind, status, input and metadata[key]=value',
  request: { query: ListJobsQuery },
  responses: { 200: json(z.array(Job), 'A page of jobs; see the Link, Has-More and Limit headers.'), ...errorResponses },
});

const cancelJob = createRoute({
  method: 'post',
  path: '/jobs/{id}/cancel',
  summary: 'Cancel a job that has not finished',
  request: { params: JobIdParam },
  responses: { 200: json(Job, 'The job, cancelled unless it had already finished.'), ...errorResponses },
});

const jobEvents = createRoute({
  method: 'get',
  path: '/jobs/{id}/events',
  summary: "The job's history, oldest first: each run started, deferred or lost, and how it ended",
  request: { params: JobIdParam },
  responses: { 200: json(z.array(JobEvent), 'The events.'), ...errorResponses },
});

const LIST_QUERY_KEYS = new Set(['kind', 'status', 'input', 'limit', 'after', 'before', 'order']);

function metadataFilters(url: URL): Record<string, string> {
  const filters: Record<string, string> = {};
  const unknown: string[] = [];
  for (const [name, value] of url.searchParams) {
    const m = /^metadata\[([A-Za-z0-9_]{1,32})\]$/.exec(name);
    if (m?.[1] && value.length > METADATA_VALUE_MAX_CHARS) {
      throw new ValidationError([
        { path: `query.${name}`, message: `Expected a string of length <= ${METADATA_VALUE_MAX_CHARS} for query.${name}` },
      ]);
    }
    if (m?.[1]) filters[m[1]] = value;
    else if (!LIST_QUERY_KEYS.has(name)) unknown.push(name);
  }
  if (unknown.length) {
    throw new ValidationError(
      unknown.map((name) => ({ path: `query.${name}`, message: `Unknown query parameter ${name}; remove it or check its spelling` })),
    );
  }
  return filters;
}

/**
 * One page of a list route (GET /jobs, GET /tasks), newest first unless `order` says otherwise:
 * `rows` finds one more than the limit in the tenant's index (so we know whether more exist),
 * `load` reads each, and the Link, Has-More and Limit headers say how to go on.
 */
export async function listPage<R extends { id: string }, T>(
  c: Context<AppEnv>,
  query: { limit: number; after?: string | undefined; before?: string | undefined },
  rows: (metadata: Record<string, string>) => Promise<R[]>,
  load: (row: R) => Promise<T | null>,
): Promise<T[]> {
  const url = new URL(c.req.url);
  const metadata = metadataFilters(url);
  if (query.after && query.before) {
    throw new ValidationError([{ path: 'query.before', message: 'Expected only one of after and before' }]);
  }
  const found = await rows(metadata);
  const hasMore = found.length > query.limit;
  const page = query.before ? found.slice(-query.limit) : found.slice(0, query.limit);
  const items = (await Promise.all(page.map(load))).filter((item) => item !== null);
  const last = page.at(-1);
  if (hasMore && last) {
    const next = new URL(url);
    next.searchParams.delete('before');
    next.searchParams.set('after', last.id);
    c.header('Link', `<${next.toString()}>; rel="next"`);
  }
  c.header('Has-More', String(hasMore));
  c.header('Limit', String(query.limit));
  return items;
}

export const jobsRoutes = createRouter()
  .openapi(createJob, async (c) => {
    const { state, replayed } = await submitJob({
      env: c.env,
      tenant: c.get('tenant'),
      origin: new URL(c.req.url).origin,
      body: c.req.valid('json'),
      idempotencyKey: c.req.valid('header')['idempotency-key'],
    });
    const job = publicJob(state.job);
    // An Idempotency-Key first used for a standalone probe, import or export names no job.
    if (!job)
      throw new KilnError('idempotency_key_reused', 'This Idempotency-Key was already used for a task; use a new key for a new job.');
    return c.json(job, replayed ? 200 : 201);
  })
  .openapi(listJobs, async (c) => {
    const query = c.req.valid('query');
    const tenantName = c.get('tenant');
    const jobs = await listPage(
      c,
      query,
      async (metadata) => (await tenantStub(c.env, tenantName).listJobIds({ ...query, metadata })).map((id) => ({ id })),
      ({ id }) => jobStub(c.env, id).get(tenantName),
    );
    return c.json(jobs, 200);
  })
  .openapi(getJob, async (c) => {
    const job = await jobStub(c.env, c.req.valid('param').id).get(c.get('tenant'));
    if (!job) throw jobNotFoundError(c.req.valid('param').id);
    return c.json(job, 200);
  })
  .openapi(jobEvents, async (c) => {
    const { id } = c.req.valid('param');
    const events = await jobStub(c.env, id).events(c.get('tenant'));
    if (!events) throw jobNotFoundError(id);
    return c.json(events, 200);
  })
  .openapi(cancelJob, async (c) => {
    const { id } = c.req.valid('param');
    const job = await jobStub(c.env, id).cancel(c.get('tenant'));
    if (!job) throw jobNotFoundError(id);
    return c.json(job, 200);
  });
