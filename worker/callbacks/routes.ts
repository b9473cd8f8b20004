import type { Context } from 'hono';
import { Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { z } from 'zod';
import { bearerToken } from '../../common/bearer.ts';
import { KilnError } from '../../schemas/errors.ts';
import { issuesFromZod } from '../../schemas/issues.ts';
import { FreshUrlsRequest, OutputFilesRequest, ProcessorEvent } from '../../schemas/processor.ts';
import { readConfig } from '../config/index.ts';
import { CALLBACK_BODY_MAX_BYTES } from '../constants.ts';
import { buildProcessorTask } from '../dispatch/task.ts';
import type { AppEnv } from '../http/app.ts';
import { jsonBodyLimit } from '../http/body-limit.ts';
import { ValidationError } from '../http/errors.ts';
import type { JobState } from '../job-object/state.ts';
import { bucketLocation } from '../storage/locations.ts';
import { presignFolderFiles } from '../storage/outputs.ts';
import { jobStub, tenantStub } from '../stubs.ts';
import { verifyCallbackToken } from './token.ts';

const STOP = { kind: 'cancelled', message: 'Stop this run: the job no longer needs it.' } as const;

type CallbackEnv = AppEnv & { Variables: { attempt: number } };

const unauthorized = () => new KilnError('unauthorized', 'The callback token does not match this job and attempt.');

/**
 * Checks the bearer token against the job and the attempt named in the callback URL (dispatch
 * puts `?attempt=` there) before a byte of the body is read, so an unauthenticated caller costs
 * one HMAC, never a parse.
 */
const callbackAuth = createMiddleware<CallbackEnv>(async function callbackAuth(c, next) {
  const attempt = Number(c.req.query('attempt'));
  const token = bearerToken(c.req.header('authorization')) ?? '';
  const { callbackSecret } = readConfig(c.env);
  if (
    !Number.isSafeInteger(attempt) ||
    attempt < 1 ||
    !(await verifyCallbackToken(callbackSecret, c.req.param('id') ?? '', attempt, token))
  ) {
    throw unauthorized();
  }
  c.set('attempt', attempt);
  await next();
});

/** Parses an authenticated processor request; its `attempt` must be the one the token was checked for. */
async function parsed<S extends z.ZodType<{ attempt: number }>>(c: Context<CallbackEnv>, schema: S): Promise<z.infer<S>> {
  const raw: unknown = await c.req.json().catch(() => null);
  const result = schema.safeParse(raw);
  if (!result.success) throw new ValidationError(issuesFromZod(result.error, raw));
  if (result.data.attempt !== c.get('attempt')) throw unauthorized();
  return result.data;
}

/**
 * Where the processor reports progress, heartbeats and results, authenticated by the per-attempt
 * token minted at dispatch. Answers 409 when the run should stop (job cancelled, finished, or a
 * newer attempt took over), which the processor treats as "abort".
 */
export const callbackRoutes = new Hono<CallbackEnv>()
  .use('/internal/jobs/:id/*', callbackAuth, jsonBodyLimit(CALLBACK_BODY_MAX_BYTES))
  .post('/internal/jobs/:id/events', async (c) => {
    const event = await parsed(c, ProcessorEvent);
    const result = await jobStub(c.env, c.req.param('id')).applyEvent(event);
    if (result.cancelled) return c.json(STOP, 409);
    return c.json({ accepted: result.accepted }, 200);
  })
  /**
   * Multi-file outputs (HLS): the run names the files it produced and gets one presigned PUT per
   * file under the job's output folder. The schema's name pattern keeps every file inside it.
   */
  .post('/internal/jobs/:id/outputs', async (c) => {
    const request = await parsed(c, OutputFilesRequest);
    const folder = await jobStub(c.env, c.req.param('id')).outputFolder(request.attempt);
    if (!folder) return c.json(STOP, 409);
    const config = readConfig(c.env);
    const prefix = await bucketLocation({ config, origin: folder.origin, tenant: tenantStub(c.env, folder.tenant), where: folder.prefix });
    return c.json({ urls: await presignFolderFiles(prefix, request.names) }, 200);
  })
  /**
   * A run that waited in the processor's backlog gets its URLs minted again as it starts, so they
   * live PRESIGNED_URL_TTL_S from then, however long the wait.
   */
  .post('/internal/jobs/:id/urls', async (c) => {
    const request = await parsed(c, FreshUrlsRequest);
    const state = (await jobStub(c.env, c.req.param('id')).currentRun(request.attempt)) as JobState | null;
    if (!state) return c.json(STOP, 409);
    const config = readConfig(c.env);
    const task = await buildProcessorTask({ state, attempt: request.attempt, config, tenant: tenantStub(c.env, state.tenant) });
    return c.json({ input_url: task.input_url, output: task.output }, 200);
  });
