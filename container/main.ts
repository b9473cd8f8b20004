import { serve } from '@hono/node-server';
import { answerClientErrors, createMisconfiguredApp, createProcessorApp } from './server/index.ts';
import { readSettings } from './settings.ts';

/**
 * The processor's entrypoint: the Dockerfile's CMD, `npm run processor`, `npm run dev` and the
 * end-to-end tests all start exactly this file. Its environment is read in ./settings.ts.
 */
const read = readSettings(process.env);
// ffmpeg and libheif's tools inherit this environment while they parse untrusted media.
delete process.env.KILN_PROCESSOR_SECRET;

/** On SIGTERM (a container stopping) give running jobs this long to report before exiting. */
const SHUTDOWN_GRACE_MS = 15_000;

const log = (fields: Record<string, unknown>) => console.log(JSON.stringify(fields));

let fetchHandler: (req: Request) => Response | Promise<Response>;
let active = new Set<Promise<void>>();
if (read.ok) {
  const processor = createProcessorApp(read.settings);
  fetchHandler = processor.app.fetch;
  active = processor.active;
} else {
  for (const problem of read.problems) console.error(JSON.stringify({ level: 'error', msg: 'processor misconfigured', problem }));
  fetchHandler = createMisconfiguredApp(read.problems).fetch;
}

const { port, host } = read.ok ? read.settings : read.listen;
const server = serve({ fetch: fetchHandler, port, hostname: host }, (info) =>
  log({
    level: 'info',
    msg: read.ok ? 'processor listening' : 'processor listening, misconfigured: every task is refused',
    port: info.port,
  }),
);
answerClientErrors(server);

function shutdown(signal: string) {
  log({ level: 'info', msg: 'processor stopping', signal, active: active.size });
  server.close();
  const timer = setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS);
  timer.unref();
  void Promise.allSettled(active).then(() => process.exit(0));
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
