import { createRoute, z } from '@hono/zod-openapi';
import { ErrorBody, KilnError } from '../../schemas/errors.ts';
import { issuesFromZod } from '../../schemas/issues.ts';
import { ID_MAX_CHARS, type Job, JobCreate, NAME_MAX_CHARS, StandaloneTask, URL_MAX_CHARS } from '../../schemas/job.ts';
import { JobKind } from '../../schemas/options.ts';
import { TaskStage } from '../../schemas/processor.ts';
import { createRouter } from '../http/app.ts';
import { ValidationError } from '../http/errors.ts';
import { errorResponses, IdempotencyHeader, json, rateLimitedResponse } from '../http/openapi.ts';
import { taskByStage } from '../job-object/state.ts';
import { submitJob } from '../jobs/create.ts';
import { jobStub, tenantStub } from '../stubs.ts';
import { newId } from '../utils/ids.ts';

/**
 * Ittybit-style standalone tasks: `{kind, url | file_id | input, ...options}` with the options
 * either flat or under `options`. Each runs as a job (probe → import → encode → export); the task
 * is that job's encode step.
 */
const TOP_LEVEL = new Set(['kind', 'input', 'url', 'file_id', 'options', 'output', 'connection_id', 'metadata', 'webhook_url']);
const UNSUPPORTED_KINDS = new Set(['probe', 'import', 'export']);

const TaskCreate = z
  .object({
    kind: z.string().max(NAME_MAX_CHARS).openapi({ description: 'video, image, audio, animation or adaptive_video' }),
    input: z.string().max(URL_MAX_CHARS).optional(),
    url: z.string().max(URL_MAX_CHARS).optional().openapi({ description: 'Alias of input.' }),
    file_id: z.string().max(URL_MAX_CHARS).optional().openapi({ description: 'Alias of input for an uploaded file.' }),
  })
  .catchall(z.unknown())
  .openapi('TaskCreate', { description: 'Job fields, with options under `options` or at the top level.' });

/** Turns a task request into a job request, and job field paths back into the caller's names. */
function toJobCreate(raw: Record<string, unknown>): { body: JobCreate; callerPath: (path: string) => string } {
  const issues: { path: string; message: string }[] = [];
  if (typeof raw.kind === 'string' && UNSUPPORTED_KINDS.has(raw.kind)) {
    issues.push({ path: 'kind', message: `Standalone ${raw.kind} tasks are not supported yet; use one of ${JobKind.options.join(', ')}` });
  }
  const inputs = (['input', 'url', 'file_id'] as const).filter((k) => raw[k] !== undefined);
  if (inputs.length > 1)
    issues.push({ path: inputs[1]!, message: `Expected one of input, url and file_id but received ${inputs.join(' and ')}` });
  const flat = Object.keys(raw).filter((k) => !TOP_LEVEL.has(k));
  if (flat.length && raw.options !== undefined) {
    issues.push({ path: flat[0]!, message: 'Expected options either under "options" or at the top level, not both' });
  }
  if (issues.length) throw new ValidationError(issues);
  const candidate: Record<string, unknown> = {
    ...Object.fromEntries(Object.entries(raw).filter(([k]) => TOP_LEVEL.has(k) && !['url', 'file_id'].includes(k))),
    input: raw.input ?? raw.url ?? raw.file_id,
    ...(flat.length ? { options: Object.fromEntries(flat.map((k) => [k, raw[k]])) } : {}),
  };
  const inputField = inputs[0] ?? 'input';
  const callerPath = (path: string) => {
    if (flat.length && path.startsWith('options.')) return path.slice('options.'.length);
    return path === 'input' ? inputField : path;
  };
  const parsed = JobCreate.safeParse(candidate);
  if (parsed.success) return { body: parsed.data, callerPath };
  throw renamed(new ValidationError(issuesFromZod(parsed.error, candidate)), callerPath);
}

function renamed(err: ValidationError, callerPath: (path: string) => string): ValidationError {
  return new ValidationError(
    err.issues.map((issue) => {
      const path = callerPath(issue.path);
      return { path, message: issue.message.replaceAll(issue.path, path) };
    }),
  );
}

function taskView(job: Job, taskId: string): StandaloneTask {
  return {
    id: taskId,
    object: 'task',
    kind: job.kind,
    status: job.status === 'queued' ? 'waiting' : job.status,
    progress: job.progress,
    input: job.input,
    options: job.options,
    output: job.output,
    error: job.error,
    metadata: job.metadata,
    webhook_url: job.webhook_url,
    job_id: job.id,
    created_at: job.created_at,
    started_at: job.started_at,
    finished_at: job.finished_at,
    updated_at: job.updated_at,
  };
}

const TaskIdParam = z.object({
  id: z
    .string()
    .max(ID_MAX_CHARS)
    .startsWith('task_')
    .openapi({ param: { name: 'id', in: 'path' } }),
});

export const taskRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/tasks',
      summary: 'Create a standalone task',
      request: { body: { content: { 'application/json': { schema: TaskCreate } }, required: true }, headers: IdempotencyHeader },
      responses: {
        201: json(StandaloneTask, 'The task was created and queued.'),
        200: json(StandaloneTask, 'Replay: the task first created with this Idempotency-Key.'),
        409: json(ErrorBody, 'The Idempotency-Key was used with a different body.'),
        ...errorResponses,
        ...rateLimitedResponse,
      },
    }),
    async (c) => {
      const { body, callerPath } = toJobCreate(c.req.valid('json'));
      const taskId = newId('task');
      const { job, replayed } = await submitJob({
        env: c.env,
        tenant: c.get('tenant'),
        origin: new URL(c.req.url).origin,
        body,
        idempotencyKey: c.req.valid('header')['idempotency-key'],
        taskIds: TaskStage.options.map((stage) => (stage === 'encode' ? taskId : newId('task'))),
      }).catch((err: unknown) => {
        throw err instanceof ValidationError ? renamed(err, callerPath) : err;
      });
      const encodeTaskId = taskByStage(job, 'encode').id;
      // Also on a replay: the request that created the job may have died before indexing its task.
      await tenantStub(c.env, c.get('tenant')).indexTask(encodeTaskId, job.id);
      return c.json(taskView(job, encodeTaskId), replayed ? 200 : 201);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/tasks/{id}',
      summary: 'Retrieve a standalone task',
      request: { params: TaskIdParam },
      responses: { 200: json(StandaloneTask, 'The task.'), ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const jobId = await tenantStub(c.env, c.get('tenant')).jobOfTask(id);
      const job = jobId ? await jobStub(c.env, jobId).get(c.get('tenant')) : null;
      if (!job) throw new KilnError('not_found', `No task ${id} exists for this API key.`);
      return c.json(taskView(job, id), 200);
    },
  );
