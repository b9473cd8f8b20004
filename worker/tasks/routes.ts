import { createRoute, z } from '@hono/zod-openapi';
import { ErrorBody, KilnError } from '../../schemas/errors.ts';
import { isPlaylistPath } from '../../schemas/formats.ts';
import { issuesFromZod } from '../../schemas/issues.ts';
import {
  ExternalFile,
  FileRef,
  ID_MAX_CHARS,
  JobCreate,
  NAME_MAX_CHARS,
  StandaloneTask,
  StepCreate,
  StepKind,
  TaskKind,
  TaskStatus,
  URL_MAX_CHARS,
} from '../../schemas/job.ts';
import { TaskStage } from '../../schemas/processor.ts';
import { createRouter } from '../http/app.ts';
import { ValidationError } from '../http/errors.ts';
import { errorResponses, IdempotencyHeader, json, listJson, rateLimitedResponse } from '../http/openapi.ts';
import { ignoreUnknownQueryParams } from '../http/query.ts';
import type { JobRequest, Standalone } from '../job-object/state.ts';
import { submitJob } from '../jobs/create.ts';
import { listPage, METADATA_FILTER } from '../jobs/routes.ts';
import { ListJobsQuery } from '../jobs/schemas.ts';
import { jobStub, tenantStub } from '../stubs.ts';
import { newId } from '../utils/ids.ts';
import { standaloneTask } from './view.ts';

/**
 * Standalone tasks (POST /tasks), Ittybit's shape `{kind, input: {url} | File, options}`, and the
 * older one `{kind, url | file_id | input: "…", ...options}` with the options flat or under
 * `options`. An encode task runs as a job (probe → import → encode → export) whose encode step it
 * is; a probe, import or export runs on its own, as a job that only GET /tasks shows.
 */
const TOP_LEVEL = new Set(['kind', 'input', 'url', 'file_id', 'options', 'output', 'connection_id', 'metadata', 'webhook_url']);

const UrlInput = z
  .object({ object: ExternalFile.shape.object.optional(), url: z.string().min(1).max(URL_MAX_CHARS) })
  .openapi({ description: 'A file by its URL: https://, http://, s3://bucket/key (via a connection), or a Kiln file URL.' });

const TaskCreate = z
  .object({
    kind: z
      .string()
      .max(NAME_MAX_CHARS)
      .openapi({ description: TaskKind.options.join(', ') }),
    input: z
      .union([UrlInput, FileRef, z.string().max(URL_MAX_CHARS)], {
        error: 'Expected input to be {"url": "…"}, a File object a task returned, or a URL string',
      })
      .optional()
      .openapi({
        description: 'probe, import: `{url}`; encode kinds and export: the File a task returned, or `{url}`; a string is the older style.',
      }),
    options: z.record(z.string().max(NAME_MAX_CHARS), z.unknown()).optional().openapi({
      description:
        'Encode kinds: their options (see the *Options schemas). export: `{url: "s3://bucket/key", connection_id}`. probe, import: none but `connection_id`.',
    }),
    url: z.string().max(URL_MAX_CHARS).optional().openapi({ description: 'Older style: alias of input.' }),
    file_id: z.string().max(URL_MAX_CHARS).optional().openapi({ description: 'Older style: alias of input for an uploaded file.' }),
    connection_id: z
      .string()
      .max(ID_MAX_CHARS)
      .optional()
      .openapi({ description: 'The connection for s3:// inputs and outputs; also accepted in options.' }),
  })
  .catchall(z.unknown())
  .openapi('TaskCreate', {
    description: 'Job fields too (metadata, webhook_url, output for encode kinds); older style: options flat at the top level.',
  });

type Issue = { path: string; message: string };

type TaskCreate = z.infer<typeof TaskCreate>;

/** A task request's input: the URL to read, and the input as the task shows it (as sent). */
function readInput(value: NonNullable<TaskCreate['input']>): { url: string; shown: StandaloneTask['input'] } {
  if (typeof value === 'string') return { url: value, shown: value };
  if (value.object === 'file') return { url: value.url, shown: value };
  return { url: value.url, shown: { object: 'external_file', url: value.url } };
}

/** What POST /tasks runs: the job request, the task's own view of itself, and the caller's name for each job field. */
interface TaskPlan {
  body: JobRequest;
  standalone: Omit<Standalone, 'task_id'>;
  callerPath: (path: string) => string;
}

/** Whether a URL names an HLS playlist (`….m3u8`, query string aside). */
function isPlaylistUrl(url: string): boolean {
  return isPlaylistPath(url.split(/[?#]/, 1)[0]!);
}

/** Turns a task request into a job request, and job field paths back into the caller's names. */
function planTask(raw: TaskCreate): TaskPlan {
  const issues: Issue[] = [];
  const kind = TaskKind.safeParse(raw.kind);
  if (!kind.success) issues.push({ path: 'kind', message: `Expected kind to be one of ${TaskKind.options.join(', ')}` });
  const inputs = (['input', 'url', 'file_id'] as const).filter((k) => raw[k] !== undefined);
  if (inputs.length > 1)
    issues.push({ path: inputs[1]!, message: `Expected one of input, url and file_id but received ${inputs.join(' and ')}` });
  const flat = Object.keys(raw).filter((k) => !TOP_LEVEL.has(k));
  if (flat.length && raw.options !== undefined) {
    issues.push({ path: flat[0]!, message: 'Expected options either under "options" or at the top level, not both' });
  }
  if (issues.length || !kind.success) throw new ValidationError(issues);
  const inputField = inputs[0] ?? 'input';
  const given = raw[inputField];
  if (given === undefined) {
    throw new ValidationError([{ path: 'input', message: 'Expected input: {"url": "…"}, or the File object a task returned' }]);
  }
  const input = readInput(given);
  const options: Record<string, unknown> = flat.length ? Object.fromEntries(flat.map((k) => [k, raw[k]])) : { ...raw.options };
  const optionsPath = (name: string) => (flat.length ? name : `options.${name}`);
  // Ittybit's export puts connection_id in options; the job takes it at the top level.
  const inOptions = options.connection_id;
  if (inOptions !== undefined && raw.connection_id !== undefined && inOptions !== raw.connection_id) {
    throw new ValidationError([
      {
        path: optionsPath('connection_id'),
        message: 'Expected connection_id once: at the top level or in options, not two different ones',
      },
    ]);
  }
  delete options.connection_id;
  const common = {
    input: input.url,
    connection_id: raw.connection_id ?? inOptions,
    metadata: raw.metadata,
    webhook_url: raw.webhook_url,
  };
  const callerPath = (path: string) => {
    if (path === 'connection_id' && inOptions !== undefined) return optionsPath('connection_id');
    if (path === 'input') return typeof raw[inputField] === 'object' ? `${inputField}.url` : inputField;
    if (path === 'output' && kind.data === 'export') return optionsPath('url');
    if (flat.length && path.startsWith('options.')) return path.slice('options.'.length);
    return path;
  };
  const step = StepKind.safeParse(kind.data);
  if (step.success) {
    const { url, ...rest } = options;
    const extra = Object.keys(step.data === 'export' ? rest : options);
    const refused = extra.map((name) => ({
      path: optionsPath(name),
      message:
        step.data === 'export'
          ? `export takes only url and connection_id in options; remove ${name}`
          : `${step.data} takes no options but connection_id; remove ${name}`,
    }));
    if (raw.output !== undefined) {
      refused.push({
        path: 'output',
        message:
          step.data === 'export'
            ? 'Expected the destination in options.url, as in {"url": "s3://bucket/key", "connection_id": "conn_…"}'
            : `${step.data} writes no file you choose; run an export task to copy a file to your bucket`,
      });
    }
    if (step.data === 'export' && url === undefined) {
      refused.push({ path: optionsPath('url'), message: 'Expected options.url: the s3://bucket/key to export the file to' });
    }
    // An export copies one file; a playlist alone, without its segments, would play nothing.
    if (step.data === 'export' && typeof input.url === 'string' && isPlaylistUrl(input.url)) {
      refused.push({
        path: callerPath('input'),
        message:
          'Expected a single file to export, not an HLS playlist: write an HLS package to your bucket with an adaptive_video job (or task) whose output is s3://bucket/prefix/',
      });
    }
    if (refused.length) throw new ValidationError(refused);
    const candidate = { ...common, kind: step.data, ...(step.data === 'export' ? { output: url } : {}) };
    const parsed = StepCreate.safeParse(candidate);
    if (!parsed.success) throw renamed(new ValidationError(issuesFromZod(parsed.error, candidate)), callerPath);
    const shown = step.data === 'export' ? { ...options, ...(common.connection_id ? { connection_id: common.connection_id } : {}) } : {};
    return { body: parsed.data, standalone: { kind: step.data, input: input.shown, options: shown }, callerPath };
  }
  const candidate = { ...common, kind: kind.data, options, output: raw.output };
  const parsed = JobCreate.safeParse(candidate);
  if (!parsed.success) throw renamed(new ValidationError(issuesFromZod(parsed.error, candidate)), callerPath);
  return { body: parsed.data, standalone: { kind: parsed.data.kind, input: input.shown }, callerPath };
}

function renamed(err: ValidationError, callerPath: (path: string) => string): ValidationError {
  return new ValidationError(
    err.issues.map((issue) => {
      const path = callerPath(issue.path);
      return { path, message: issue.message.replaceAll(issue.path, path) };
    }),
  );
}

const TaskIdParam = z.object({
  id: z
    .string()
    .max(ID_MAX_CHARS)
    .startsWith('task_')
    .openapi({ param: { name: 'id', in: 'path' } }),
});

/** GET /tasks filters: GET /jobs's, with the task's kinds and statuses and task ids as cursors. */
const ListTasksQuery = ListJobsQuery.extend({
  kind: TaskKind.optional(),
  status: TaskStatus.optional(),
  after: z.string().max(ID_MAX_CHARS).startsWith('task_').optional(),
  before: z.string().max(ID_MAX_CHARS).startsWith('task_').optional(),
});

export const taskRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/tasks',
      operationId: 'createTask',
      tags: ['Tasks'],
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
      const { body, standalone, callerPath } = planTask(c.req.valid('json'));
      const taskId = newId('task');
      const stage = StepKind.safeParse(body.kind).success ? body.kind : 'encode';
      const { state, replayed } = await submitJob({
        env: c.env,
        tenant: c.get('tenant'),
        origin: new URL(c.req.url).origin,
        body,
        idempotencyKey: c.req.valid('header')['idempotency-key'],
        waitUntil: (work) => c.executionCtx.waitUntil(work),
        taskIds: TaskStage.options.map((s) => (s === stage ? taskId : newId('task'))),
        standalone: { ...standalone, task_id: taskId },
      }).catch((err: unknown) => {
        throw err instanceof ValidationError ? renamed(err, callerPath) : err;
      });
      const task = standaloneTask(state);
      // Also on a replay: the request that created the job may have died before indexing its task.
      await tenantStub(c.env, c.get('tenant')).indexTask(task.id, state.job.id);
      return c.json(task, replayed ? 200 : 201);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/tasks',
      operationId: 'listTasks',
      tags: ['Tasks'],
      summary: 'List standalone tasks, newest first; filter by kind, status, input and metadata[key]=value',
      middleware: [ignoreUnknownQueryParams({ schema: ListTasksQuery, families: [METADATA_FILTER], paging: 'cursor' })],
      request: { query: ListTasksQuery },
      responses: { 200: listJson(StandaloneTask, 'A page of tasks; see the Link, Has-More and Limit headers.'), ...errorResponses },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const tenant = c.get('tenant');
      // The index keeps each task's status on its job's row, where a waiting task's job is queued.
      const status = query.status === 'waiting' ? 'queued' : query.status;
      const tasks = await listPage(
        c,
        query,
        (metadata) => tenantStub(c.env, tenant).listTasks({ ...query, status, metadata }),
        ({ id, job_id }) => jobStub(c.env, job_id).task(tenant, id),
      );
      return c.json(tasks, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/tasks/{id}',
      operationId: 'getTask',
      tags: ['Tasks'],
      summary: 'Retrieve a standalone task',
      request: { params: TaskIdParam },
      responses: { 200: json(StandaloneTask, 'The task.'), ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const jobId = await tenantStub(c.env, c.get('tenant')).jobOfTask(id);
      const task = jobId ? await jobStub(c.env, jobId).task(c.get('tenant'), id) : null;
      if (!task) throw new KilnError('task_not_found', `No task ${id} exists for this API key.`);
      return c.json(task, 200);
    },
  );
