import { type RouteConfig, z } from '@hono/zod-openapi';
import { readConfig } from '../config/index.ts';
import { createRouter } from '../http/app.ts';
import { json } from '../http/openapi.ts';

/** How long /health waits for the processor; a slow processor is reported, not waited for. */
const PROCESSOR_HEALTH_TIMEOUT_MS = 2_000;

const Health = z
  .object({
    status: z.enum(['ok', 'degraded']).openapi({ description: '`degraded` when the processor does not answer or says it is unwell.' }),
    worker: z.object({ status: z.literal('ok') }),
    processor: z
      .looseObject({
        status: z
          .string()
          .openapi({ description: '`ok`, `on_demand` (a Container started per job), `unreachable`, or what the processor says.' }),
        via: z.enum(['url', 'container']).openapi({ description: 'PROCESSOR_URL, or the Container binding.' }),
        message: z.string().optional().openapi({ description: 'Why the processor could not be reached.' }),
      })
      .openapi({ description: "The processor's own health (its ffmpeg and sharp versions) when it is reached by URL." }),
  })
  .openapi('Health');

const healthRoute: RouteConfig = {
  method: 'get',
  path: '/health',
  operationId: 'getHealth',
  tags: ['Service'],
  summary: 'Whether the Worker and the processor are up; no API key needed',
  security: [],
  responses: {
    200: json(Health, 'Everything is up.'),
    503: json(Health, 'The processor does not answer, or says it is unwell.'),
  },
};

/** One JSON line: `curl /health` leaves the shell prompt on a line of its own. */
function jsonLine(body: z.infer<typeof Health>, status: 200 | 503): Response {
  return new Response(`${JSON.stringify(body)}\n`, { status, headers: { 'content-type': 'application/json' } });
}

/**
 * Liveness of the Worker and, when PROCESSOR_URL is set, of the processor (its ffmpeg and sharp
 * versions). With the Container binding the processor starts on demand and is not woken here.
 */
export const healthRoutes = createRouter();
// Registered by hand: the JSON line this route answers with is a plain Response, not a typed one.
healthRoutes.openAPIRegistry.registerPath(healthRoute);
healthRoutes.get('/health', async (c) => {
  const { processorUrl, allowLoopback } = readConfig(c.env);
  if (!processorUrl) {
    return jsonLine({ status: 'ok', worker: { status: 'ok' }, processor: { status: 'on_demand', via: 'container' } }, 200);
  }
  // /health needs no key: only a development Worker names the URL, which may hold a host or token to keep private.
  const where = allowLoopback ? processorUrl : 'PROCESSOR_URL';
  const unreachable = (why: string) =>
    jsonLine(
      {
        status: 'degraded',
        worker: { status: 'ok' },
        processor: { status: 'unreachable', via: 'url', message: `The processor at ${where} ${why}; is it running?` },
      },
      503,
    );
  let res: Response;
  try {
    res = await fetch(new URL('/health', processorUrl), { signal: AbortSignal.timeout(PROCESSOR_HEALTH_TIMEOUT_MS) });
  } catch (err) {
    return unreachable(`did not answer (${err instanceof Error ? err.message : String(err)})`);
  }
  const processor = (await res.json().catch(() => null)) as { status: string } | null;
  // Whatever answered is not the processor: wrangler answers a refused connection with a text 502.
  if (!processor) return unreachable(`answered HTTP ${res.status} without its health report`);
  return jsonLine(
    { status: res.ok ? 'ok' : 'degraded', worker: { status: 'ok' }, processor: { ...processor, via: 'url' } },
    res.ok ? 200 : 503,
  );
});
