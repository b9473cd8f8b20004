import { createRoute, z } from '@hono/zod-openapi';
import { ErrorBody, KilnError } from '../../schemas/errors.ts';
import { Job, JobCreate } from '../../schemas/job.ts';
import { OptionsByKind } from '../../schemas/options.ts';
import { readConfig } from '../config/index.ts';
import { createRouter } from '../http/app.ts';
import { ValidationError } from '../http/errors.ts';
import type { OutputTarget } from '../job-object/state.ts';
import { outputKey, outputPrefix } from '../storage/keys.ts';
import { jobStub, tenantStub } from '../stubs.ts';
import { sha256Hex } from '../utils/crypto.ts';
import { newId } from '../utils/ids.ts';
import { checkOutboundUrl, parseS3Url, resolveInput } from './input.ts';
import { errorResponses, IdempotencyHeader, JobIdParam, json, ListJobsQuery } from './schemas.ts';

/** The file extension of a job's output when it is known before the input is probed. */
function outputExtension(kind: JobCreate['kind'], options: Record<string, unknown>): string | null {
  const format = typeof options.format === 'string' ? options.format : null;
  switch (kind) {
    case 'video':
      return format ?? 'mp4';
    case 'audio':
      return format === 'aac' ? 'm4a' : (format ?? 'mp3');
    case 'animation':
      return format ?? 'gif';
    case 'image':
      return format === 'jpeg' ? 'jpg' : format;
    case 'adaptive_video':
      return null; // a folder of files: see outputPrefix
  }
}

/** Canonical JSON (sorted keys) so that key order does not make an identical body look changed. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

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

const LIST_QUERY_KEYS = new Set(['kind', 'status', 'input', 'limit', 'after', 'before', 'order']);

function metadataFilters(url: URL): Record<string, string> {
  const filters: Record<string, string> = {};
  const unknown: string[] = [];
  for (const [name, value] of url.searchParams) {
    const m = /^metadata\[([A-Za-z0-9_]{1,32})\]$/.exec(name);
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

export const jobsRoutes = createRouter()
  .openapi(createJob, async (c) => {
    const body = c.req.valid('json');
    const tenantName = c.get('tenant');
    const config = readConfig(c.env);
    const tenant = tenantStub(c.env, tenantName);
    const origin = new URL(c.req.url).origin;
    const options = OptionsByKind[body.kind].parse(body.options ?? {}) as Record<string, unknown>;
    if (body.webhook_url) {
      checkOutboundUrl(body.webhook_url, 'webhook_url', { allowLoopback: config.allowLoopback, httpsOnly: true });
    }
    const source = await resolveInput({ input: body.input, connectionId: body.connection_id, config, origin, tenant });
    const jobId = newId('job');
    let target: OutputTarget;
    const multiFile = body.kind === 'adaptive_video';
    if (body.output && multiFile !== body.output.endsWith('/')) {
      throw new ValidationError([
        {
          path: 'output',
          message: multiFile
            ? 'Expected a prefix ending in / for output: adaptive_video writes a playlist and its segments'
            : 'Expected s3://bucket/key for output, not a prefix ending in /',
        },
      ]);
    }
    if (body.output) {
      const s3 = parseS3Url(body.output);
      const connection = await tenant.getConnection(body.connection_id);
      if (!s3 || !connection) {
        throw new ValidationError([
          { path: 'output', message: 'An s3:// output needs a connection: create one with POST /connections or pass connection_id' },
        ]);
      }
      target = { type: 's3', connection_id: connection.id, ...s3 };
    } else {
      const key = multiFile ? outputPrefix(jobId) : outputKey(jobId, outputExtension(body.kind, options)).key;
      target = { type: 'kiln', key };
    }
    const idempotencyKey = c.req.valid('header')['idempotency-key'];
    if (idempotencyKey) {
      const claim = await tenant.claimIdempotencyKey(idempotencyKey, await sha256Hex(canonical(body)), jobId);
      if (claim.outcome === 'conflict') {
        throw new KilnError(
          'idempotency_key_reused',
          'This Idempotency-Key was already used with a different request body; use a new key for a new job.',
        );
      }
      if (claim.outcome === 'replay') {
        const original = await jobStub(c.env, claim.job_id).get(tenantName);
        if (original) return c.json(original, 200);
      }
    }
    try {
      const job = await jobStub(c.env, jobId).create({
        id: jobId,
        tenant: tenantName,
        origin,
        request: body,
        options,
        source,
        target,
        taskIds: Array.from({ length: 4 }, () => newId('task')),
        now: Date.now(),
      });
      return c.json(job, 201);
    } catch (err) {
      if (idempotencyKey) await tenant.releaseIdempotencyKey(idempotencyKey, jobId);
      throw err;
    }
  })
  .openapi(listJobs, async (c) => {
    const query = c.req.valid('query');
    const url = new URL(c.req.url);
    const metadata = metadataFilters(url);
    if (query.after && query.before) {
      throw new ValidationError([{ path: 'query.before', message: 'Expected only one of after and before' }]);
    }
    const tenantName = c.get('tenant');
    const ids = await tenantStub(c.env, tenantName).listJobIds({ ...query, metadata });
    const hasMore = ids.length > query.limit;
    const page = query.before ? ids.slice(-query.limit) : ids.slice(0, query.limit);
    const jobs = (await Promise.all(page.map((id) => jobStub(c.env, id).get(tenantName)))).filter((j) => j !== null);
    const last = page.at(-1);
    if (hasMore && last) {
      const next = new URL(url);
      next.searchParams.delete('before');
      next.searchParams.set('after', last);
      c.header('Link', `<${next.toString()}>; rel="next"`);
    }
    c.header('Has-More', String(hasMore));
    c.header('Limit', String(query.limit));
    return c.json(jobs, 200);
  })
  .openapi(getJob, async (c) => {
    const job = await jobStub(c.env, c.req.valid('param').id).get(c.get('tenant'));
    if (!job) throw new KilnError('job_not_found', `No job ${c.req.valid('param').id} exists for this API key.`);
    return c.json(job, 200);
  })
  .openapi(cancelJob, async (c) => {
    const { id } = c.req.valid('param');
    const stub = jobStub(c.env, id);
    if (!(await stub.get(c.get('tenant')))) throw new KilnError('job_not_found', `No job ${id} exists for this API key.`);
    const job = await stub.cancel();
    if (!job) throw new KilnError('job_not_found', `No job ${id} exists for this API key.`);
    return c.json(job, 200);
  });
