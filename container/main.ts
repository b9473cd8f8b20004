import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { limitsFromEnv } from './limits.ts';
import { createProcessorApp } from './server/index.ts';

/**
 * The processor's entrypoint: the Dockerfile's CMD, `npm run processor`, `npm run dev` and the
 * end-to-end tests all start exactly this file.
 *
 * Environment: PORT (8080), KILN_CONCURRENCY (2), KILN_BACKLOG (16), KILN_TMP_DIR, KILN_ALLOW_LOOPBACK ("true" in
 * development only), and the limits in container/limits.ts.
 */
const env = process.env;
const port = Number(env.PORT ?? 8080);
const host = env.HOST ?? '0.0.0.0';
const { app, active } = createProcessorApp({
  concurrency: Number(env.KILN_CONCURRENCY ?? 2),
  backlog: Number(env.KILN_BACKLOG ?? 16),
  limits: limitsFromEnv(env),
  allowLoopback: env.KILN_ALLOW_LOOPBACK === 'true',
  tmpRoot: env.KILN_TMP_DIR ?? join(tmpdir(), 'kiln'),
});

const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => {
  console.log(JSON.stringify({ level: 'info', msg: 'processor listening', port: info.port }));
});

/** On SIGTERM (a container stopping) give running jobs this long to report before exiting. */
const SHUTDOWN_GRACE_MS = 15_000;

function shutdown(signal: string) {
  console.log(JSON.stringify({ level: 'info', msg: 'processor stopping', signal, active: active.size }));
  server.close();
  const timer = setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS);
  timer.unref();
  void Promise.allSettled(active).then(() => process.exit(0));
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
