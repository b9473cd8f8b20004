import { createHash, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { ServerType } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import sharp from 'sharp';
import type { z } from 'zod';
import { bearerToken } from '../../common/bearer.ts';
import { ProcessorGroupTask, ProcessorTask } from '../../schemas/processor.ts';
import { ffmpegVersion } from '../ffmpeg/index.ts';
import { runGroup } from '../run/group.ts';
import type { RunContext } from '../run/index.ts';
import { runTask } from '../run/index.ts';
import type { ProcessorSettings } from '../settings.ts';

/** Seconds a busy processor asks the queue consumer to wait before offering the task again. */
export const BUSY_RETRY_AFTER_S = 10;

export type ProcessorOptions = RunContext & Pick<ProcessorSettings, 'concurrency' | 'backlog' | 'secret'>;

/** Compares a presented bearer token with the secret in constant time (hashing evens the lengths). */
export function secretMatches(header: string | undefined, secret: string): boolean {
  const presented = bearerToken(header) ?? '';
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(secret)) && presented.length > 0;
}

const UNAUTHORIZED = {
  kind: 'unauthorized',
  message: "POST /run and POST /run-group need the Worker's PROCESSOR_SECRET as a bearer token.",
} as const;

/** A counting semaphore: `acquire` resolves when one of `size` slots is free, saying whether it had to wait. */
function slots(size: number) {
  let free = size;
  const waiting: (() => void)[] = [];
  return {
    async acquire(): Promise<{ release: () => void; waited: boolean }> {
      const waited = free === 0;
      if (waited) await new Promise<void>((resolve) => waiting.push(resolve));
      else free--;
      const release = () => {
        const next = waiting.shift();
        if (next) next();
        else free++;
      };
      return { release, waited };
    },
  };
}

/**
 * The processor's HTTP surface: `POST /run` takes a task and answers 202 at once (the work runs
 * in the background and reports to the task's callback); `POST /run-group` does the same for
 * several tasks on one input, run as one; `GET /health` reports versions and load.
 */
export function createProcessorApp(opts: ProcessorOptions) {
  const active = new Set<Promise<void>>();
  const running = slots(opts.concurrency);
  const checkVersions = () => ffmpegVersion().then((ffmpeg) => ({ ffmpeg, sharp: sharp.versions.sharp, vips: sharp.versions.vips }));
  // A failed check is not kept, the next /health checks again: on a machine busy enough that
  // `ffmpeg -version` outlasts its timeout, the processor would otherwise answer 503 for good.
  let versions: ReturnType<typeof checkVersions> | undefined = checkVersions();

  /** The answer `/run` and `/run-group` share: 401, 400 naming the fields, 503 when full, else 202 with the run started in the background. */
  async function accept<T>(c: Context, schema: z.ZodType<T>, start: (parsed: T) => { run: Promise<void>; answer: object }) {
    if (!secretMatches(c.req.header('authorization'), opts.secret)) return c.json(UNAUTHORIZED, 401);
    const raw: unknown = await c.req.json().catch(() => null);
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      return c.json(
        {
          kind: 'invalid_input',
          message: 'The task is malformed.',
          issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
        },
        400,
      );
    }
    if (opts.shutdown?.aborted) {
      // A connection kept alive from before the stop: the Worker offers the task elsewhere or later.
      c.header('Retry-After', String(BUSY_RETRY_AFTER_S));
      return c.json({ kind: 'processor_busy', message: 'The processor is stopping; retry on another one or later.' }, 503);
    }
    if (active.size >= opts.concurrency + opts.backlog) {
      c.header('Retry-After', String(BUSY_RETRY_AFTER_S));
      return c.json(
        { kind: 'processor_busy', message: `All ${opts.concurrency} slots and ${opts.backlog} waiting places are taken; retry later.` },
        503,
      );
    }
    const { run: started, answer } = start(parsed.data);
    const run = started
      // A run reports its own failures; this only keeps a bug from taking every other run down.
      .catch((err: unknown) => console.error(JSON.stringify({ level: 'error', msg: 'run rejected', error: String(err) })))
      .finally(() => active.delete(run));
    active.add(run);
    return c.json(answer, 202);
  }

  const app = new Hono()
    .get('/health', async (c) => {
      versions ??= checkVersions();
      const v = await versions;
      if (v.ffmpeg === 'missing') versions = undefined;
      return c.json(
        {
          status: v.ffmpeg === 'missing' ? 'degraded' : 'ok',
          ...v,
          active: active.size,
          concurrency: opts.concurrency,
          backlog: opts.backlog,
        },
        v.ffmpeg === 'missing' ? 503 : 200,
      );
    })
    .post('/run', (c) =>
      accept(c, ProcessorTask, (task) => ({
        run: runTask(task, { ...opts, waitForSlot: running.acquire }),
        answer: { accepted: true, job_id: task.job_id, attempt: task.attempt },
      })),
    )
    // A coalesced run takes one slot and one place, like a single run: its outputs share one decode.
    .post('/run-group', (c) =>
      accept(c, ProcessorGroupTask, (group) => ({
        run: runGroup(group, { ...opts, waitForSlot: running.acquire }),
        answer: { accepted: true, jobs: group.tasks.map((t) => ({ job_id: t.job_id, attempt: t.attempt })) },
      })),
    )
    // Whoever calls a wrong path or method gets the same JSON envelope as every other answer, not Hono's plain text.
    .notFound((c) =>
      c.json({ kind: 'not_found', message: 'No such route; the processor serves POST /run, POST /run-group and GET /health.' }, 404),
    );

  return { app, active };
}

/**
 * Answers the requests Node's HTTP parser refuses before the app sees them (headers over its
 * 16 KB limit, malformed HTTP) in the same JSON envelope as every other answer; Node's own
 * answer has no body.
 */
export function answerClientErrors(server: ServerType): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) return void socket.destroy();
    const [status, body] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? ['431 Request Header Fields Too Large', { kind: 'payload_too_large', message: 'The request headers are over 16 KB.' }]
        : [
            '400 Bad Request',
            {
              kind: 'invalid_input',
              message: 'The request is not valid HTTP.',
              issues: [{ path: 'request', message: 'The request is not valid HTTP.' }],
            },
          ];
    const text = JSON.stringify(body);
    socket.end(
      `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
    );
  });
}

/**
 * What the processor serves when its environment is wrong: it stays up so that every task, and
 * the job behind it, learns exactly which setting to fix (a container that exits only shows an
 * exit code to the Worker). `/health` says the same to operators and to Docker's HEALTHCHECK.
 */
export function createMisconfiguredApp(problems: string[]) {
  const body = {
    kind: 'processor_unavailable',
    message: `The processor is misconfigured: ${problems.join(' ')}`,
  } as const;
  return new Hono().get('/health', (c) => c.json({ status: 'misconfigured', problems }, 503)).all('*', (c) => c.json(body, 500));
}
