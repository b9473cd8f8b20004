import { serve } from '@hono/node-server';
import { ShutdownError } from './run/index.ts';
import { answerClientErrors, createMisconfiguredApp, createProcessorApp } from './server/index.ts';
import { readSettings } from './settings.ts';

/**
 * The processor's entrypoint: the Dockerfile's CMD, `npm run processor`, `npm run dev` and the
 * end-to-end tests all start exactly this file. Its environment is read in ./settings.ts.
 */
const read = readSettings(process.env);
// ffmpeg and libheif's tools inherit this environment while they parse untrusted media.
delete process.env.KILN_PROCESSOR_SECRET;

/**
 * On SIGTERM or SIGINT (a container being stopped, Ctrl-C in development) the processor exits
 * within this: runs stop their ffmpeg (FFMPEG_KILL_GRACE_MS), delete their files and give their
 * jobs back to the Worker (GIVE_BACK_TIMEOUT_MS), with a margin. scripts/dev-stack.ts waits a
 * little longer than this before it kills the processor.
 */
const SHUTDOWN_GRACE_MS = 10_000;

const log = (fields: Record<string, unknown>) => console.log(JSON.stringify(fields));

const stopping = new AbortController();
let fetchHandler: (req: Request) => Response | Promise<Response>;
let active = new Set<Promise<void>>();
if (read.ok) {
  const processor = createProcessorApp({ ...read.settings, shutdown: stopping.signal });
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

function shutdown(signal: NodeJS.Signals) {
  if (stopping.signal.aborted) return;
  log({ level: 'info', msg: 'processor stopping', signal, active: active.size });
  stopping.abort(new ShutdownError(`The processor is stopping (${signal}).`));
  server.close();
  // Keep-alive connections would hold the server (and the exit) open until they idle out.
  if ('closeIdleConnections' in server) server.closeIdleConnections();
  const timer = setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS);
  timer.unref();
  void Promise.allSettled(active).then(() => process.exit(0));
}
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => shutdown(sig));
