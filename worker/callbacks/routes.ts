import { Hono } from 'hono';
import { KilnError } from '../../schemas/errors.ts';
import { ProcessorEvent } from '../../schemas/processor.ts';
import { readConfig } from '../config/index.ts';
import type { AppEnv } from '../http/app.ts';
import { issuesFromZod } from '../../schemas/issues.ts';
import { ValidationError } from '../http/errors.ts';
import { jobStub } from '../stubs.ts';
import { verifyCallbackToken } from './token.ts';

/**
 * Where the processor reports progress, heartbeats and results. Authenticated by the per-attempt
 * token minted at dispatch. Answers 409 when the run should stop (job cancelled, finished, or a
 * newer attempt took over), which the processor treats as "abort".
 */
export const callbackRoutes = new Hono<AppEnv>().post('/internal/jobs/:id/events', async (c) => {
  const id = c.req.param('id');
  const raw: unknown = await c.req.json().catch(() => null);
  const parsed = ProcessorEvent.safeParse(raw);
  if (!parsed.success) throw new ValidationError(issuesFromZod(parsed.error, raw));
  const token = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? '';
  const { callbackSecret } = readConfig(c.env);
  if (!(await verifyCallbackToken(callbackSecret, id, parsed.data.attempt, token))) {
    throw new KilnError('unauthorized', 'The callback token does not match this job and attempt.');
  }
  const result = await jobStub(c.env, id).applyEvent(parsed.data);
  if (result.cancelled) return c.json({ kind: 'cancelled', message: 'Stop this run: the job no longer needs it.' }, 409);
  return c.json({ accepted: result.accepted }, 200);
});
