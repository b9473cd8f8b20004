import { Hono } from 'hono';
import sharp from 'sharp';
import { ProcessorTask } from '../../schemas/processor.ts';
import { ffmpegVersion } from '../ffmpeg/index.ts';
import type { RunContext } from '../run/index.ts';
import { runTask } from '../run/index.ts';

/** Seconds a busy processor asks the queue consumer to wait before offering the task again. */
export const BUSY_RETRY_AFTER_S = 10;

export interface ProcessorOptions extends RunContext {
  /** Runs at once; each ffmpeg already uses every core, so more mostly adds memory pressure. */
  concurrency: number;
  /**
   * Accepted tasks that wait for a slot (heartbeating meanwhile), so a burst is absorbed here
   * instead of bouncing through the queue's retry delays.
   */
  backlog: number;
}

/** A counting semaphore: `acquire` resolves when one of `size` slots is free. */
function slots(size: number) {
  let free = size;
  const waiting: (() => void)[] = [];
  return {
    async acquire(): Promise<() => void> {
      if (free > 0) free--;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      return () => {
        const next = waiting.shift();
        if (next) next();
        else free++;
      };
    },
  };
}

/**
 * The processor's HTTP surface: `POST /run` takes a task and answers 202 at once (the work runs
 * in the background and reports to the task's callback); `GET /health` reports versions and load.
 */
export function createProcessorApp(opts: ProcessorOptions) {
  const active = new Set<Promise<void>>();
  const running = slots(opts.concurrency);
  const versions = ffmpegVersion().then((ffmpeg) => ({ ffmpeg, sharp: sharp.versions.sharp, vips: sharp.versions.vips }));

  const app = new Hono()
    .get('/health', async (c) => {
      const v = await versions;
      return c.json(
        { status: v.ffmpeg === 'missing' ? 'degraded' : 'ok', ...v, active: active.size, concurrency: opts.concurrency, backlog: opts.backlog },
        v.ffmpeg === 'missing' ? 503 : 200,
      );
    })
    .post('/run', async (c) => {
      const raw: unknown = await c.req.json().catch(() => null);
      const parsed = ProcessorTask.safeParse(raw);
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
      if (active.size >= opts.concurrency + opts.backlog) {
        c.header('Retry-After', String(BUSY_RETRY_AFTER_S));
        return c.json({ kind: 'processor_busy', message: `All ${opts.concurrency} slots and ${opts.backlog} waiting places are taken; retry later.` }, 503);
      }
      const run = runTask(parsed.data, { ...opts, waitForSlot: running.acquire })
        // runTask reports its own failures; this only keeps a bug from taking every other run down.
        .catch((err: unknown) => console.error(JSON.stringify({ level: 'error', msg: 'run rejected', error: String(err) })))
        .finally(() => active.delete(run));
      active.add(run);
      return c.json({ accepted: true, job_id: parsed.data.job_id, attempt: parsed.data.attempt }, 202);
    });

  return { app, active };
}
