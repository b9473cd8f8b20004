import { Hono } from 'hono';
import { readConfig } from '../config/index.ts';
import type { AppEnv } from '../http/app.ts';

/** How long /health waits for the processor; a slow processor is reported, not waited for. */
const PROCESSOR_HEALTH_TIMEOUT_MS = 2_000;

/**
 * Liveness of the Worker and, when PROCESSOR_URL is set, of the processor (its ffmpeg and sharp
 * versions). With the Container binding the processor starts on demand and is not woken here.
 */
export const healthRoutes = new Hono<AppEnv>().get('/health', async (c) => {
  const { processorUrl } = readConfig(c.env);
  if (!processorUrl) {
    return c.json({ status: 'ok', worker: { status: 'ok' }, processor: { status: 'on_demand', via: 'container' } });
  }
  try {
    const res = await fetch(new URL('/health', processorUrl), { signal: AbortSignal.timeout(PROCESSOR_HEALTH_TIMEOUT_MS) });
    const processor = (await res.json()) as Record<string, unknown>;
    return c.json(
      { status: res.ok ? 'ok' : 'degraded', worker: { status: 'ok' }, processor: { ...processor, via: 'url' } },
      res.ok ? 200 : 503,
    );
  } catch (err) {
    return c.json(
      {
        status: 'degraded',
        worker: { status: 'ok' },
        processor: { status: 'unreachable', via: 'url', message: err instanceof Error ? err.message : String(err) },
      },
      503,
    );
  }
});
