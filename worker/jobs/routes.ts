import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ErrorBody, jobNotFoundError, KilnError } from '../../schemas/errors.ts';
import {
  Job,
  JobBatchCreate,
  JobCreate,
  JobEvent,
  METADATA_KEY_PATTERN,
  METADATA_KEY_RULE,
  METADATA_VALUE_MAX_CHARS,
} from '../../schemas/job.ts';
import { dispatchTogetherNow } from '../dispatch/start.ts';
import { type AppEnv, createRouter } from '../http/app.ts';
import { invalidField, ValidationError } from '../http/errors.ts';
import { errorResponses, IdempotencyHeader, json, listJson, rateLimitedResponse } from '../http/openapi.ts';
import { ignoreUnknownQueryParams } from '../http/query.ts';
import { jobStub, tenantStub } from '../stubs.ts';
import { publicJob } from '../tasks/view.ts';
import { submitBatch } from './batch.ts';
import { submitJob } from './create.ts';
import { JobIdParam, ListJobsQuery } from './schemas.ts';

const createJob = createRoute({
  method: 'post',
  path: '/jobs',
  operationId: 'createJob',
  tags: ['Jobs'],
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

const createJobBatch = createRoute({
  method: 'post',
  path: '/jobs/batch',
  operationId: 'createJobBatch',
  tags: ['Jobs'],
  summary: 'Create one job per output of one input, run together (Kiln extension)',
  description:
    'One input, 2–8 outputs: answers with one job per output, in order, each the same Job POST /jobs returns. The jobs run as one processor run (one download, one decode), and each keeps its own status, output, error, metadata and webhook. Idempotency-Key is not accepted.',
  request: { body: { content: { 'application/json': { schema: JobBatchCreate } }, required: true } },
  responses: {
    201: json(z.array(Job), 'The jobs were created and queued, one per output, in order.'),
    ...errorResponses,
    ...rateLimitedResponse,
  },
});

const getJob = createRoute({
  method: 'get',
  path: '/jobs/{id}',
  operationId: 'getJob',
  tags: ['Jobs'],
  summary: 'Retrieve a job',
  request: { params: JobIdParam },
  responses: { 200: json(Job, 'The job.'), ...errorResponses },
});

/** Every `metadata[…]` query parameter is a filter, so a malformed key is refused rather than ignored. */
export const METADATA_FILTER = /^metadata\[/;

const listJobs = createRoute({
  method: 'get',
  path: '/jobs',
  operationId: 'listJobs',
  tags: ['Jobs'],
  summary: 'List jobs, newest first; filter by kind, status, input and metadata[key]=value',
  middleware: [ignoreUnknownQueryParams({ schema: ListJobsQuery, families: [METADATA_FILTER], paging: 'cursor' })],
  request: { query: ListJobsQuery },
  responses: { 200: listJson(Job, 'A page of jobs; see the Link, Has-More and Limit headers.'), ...errorResponses },
});

const cancelJob = createRoute({
  method: 'post',
  path: '/jobs/{id}/cancel',
  operationId: 'cancelJob',
  tags: ['Jobs'],
  summary: 'Cancel a job that has not finished',
  request: { params: JobIdParam },
  responses: { 200: json(Job, 'The job, cancelled unless it had already finished.'), ...errorResponses },
});

const jobEvents = createRoute({
  method: 'get',
  path: '/jobs/{id}/events',
  operationId: 'listJobEvents',
  tags: ['Jobs'],
  summary: "The job's history, oldest first: each run started, deferred or lost, and how it ended",
  middleware: [ignoreUnknownQueryParams({ paging: 'none' })],
  request: { params: JobIdParam },
  responses: { 200: listJson(JobEvent, 'The events.'), ...errorResponses },
});

/**
 * The `metadata[key]=value` filters of a list query. The value is matched as text: a stored number
 * or boolean matches the text it is echoed as (`3`, `true`).
 */
function metadataFilters(url: URL): Record<string, string> {
  const filters: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    if (!METADATA_FILTER.test(name)) continue;
    const key = name.slice('metadata['.length, -1);
    if (!name.endsWith(']') || !METADATA_KEY_PATTERN.test(key)) {
      throw invalidField(`query.${name}`, `Expected metadata[key] with a metadata key (${METADATA_KEY_RULE}) for query.${name}`);
    }
    if (value.length > METADATA_VALUE_MAX_CHARS) {
      throw invalidField(`query.${name}`, `Expected a string of length <= ${METADATA_VALUE_MAX_CHARS} for query.${name}`);
    }
    filters[key] = value;
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
      waitUntil: (work) => c.executionCtx.waitUntil(work),
    });
    const job = publicJob(state.job);
    // An Idempotency-Key first used for a standalone probe, import or export names no job.
    if (!job)
      throw new KilnError('idempotency_key_reused', 'This Idempotency-Key was already used for a task; use a new key for a new job.');
    return c.json(job, replayed ? 200 : 201);
  })
  .openapi(createJobBatch, async (c) => {
    if (c.req.header('idempotency-key') !== undefined) {
      throw invalidField(
        'headers.idempotency-key',
        'Idempotency-Key is not supported by POST /jobs/batch; send the request without it, or create each job with POST /jobs',
      );
    }
    const states = await submitBatch({
      env: c.env,
      tenant: c.get('tenant'),
      origin: new URL(c.req.url).origin,
      body: c.req.valid('json'),
    });
    c.executionCtx.waitUntil(dispatchTogetherNow(c.env, states));
    return c.json(
      states.map((s) => publicJob(s.job)).filter((job) => job !== null),
      201,
    );
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
