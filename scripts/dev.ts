import { buildDashboard } from './build-dashboard.ts';
import { devVarsFile, processGroup, requireFreePorts } from './dev-stack.ts';

/**
 * `npm run dev`: the Worker under wrangler's local runtime on :8787 and the processor as a local
 * Node process on :8788 (PROCESSOR_URL in .dev.vars), sharing PROCESSOR_SECRET from .dev.vars.
 */
const WORKER_PORT = 8787;
const PROCESSOR_PORT = 8788;
const HOST = '127.0.0.1';

await requireFreePorts([
  { port: WORKER_PORT, host: HOST, what: 'the Worker' },
  { port: PROCESSOR_PORT, host: HOST, what: 'the processor' },
]);
// The dashboard at / is built assets: rebuild them when a source changed since the last build.
await buildDashboard();
const vars = devVarsFile();
const group = processGroup();
// Started first so it is stopped first: it gives its runs back while the Worker can still hear it.
group.start('processor', ['container/main.ts'], {
  PORT: String(PROCESSOR_PORT),
  HOST,
  KILN_ALLOW_LOOPBACK: 'true',
  KILN_PROCESSOR_SECRET: vars.PROCESSOR_SECRET ?? '',
});
group.wrangler(process.argv.slice(2));
