import { buildDashboard } from './build-dashboard.ts';
import { devVarsFile, processGroup } from './dev-stack.ts';

/**
 * `npm run dev`: the Worker under wrangler's local runtime on :8787 and the processor as a local
 * Node process on :8788 (PROCESSOR_URL in .dev.vars), sharing PROCESSOR_SECRET from .dev.vars.
 */
const PROCESSOR_PORT = '8788';

// The dashboard at / is built assets: rebuild them when a source changed since the last build.
await buildDashboard();
const vars = devVarsFile();
const group = processGroup();
group.start('processor', ['container/main.ts'], {
  PORT: PROCESSOR_PORT,
  HOST: '127.0.0.1',
  KILN_ALLOW_LOOPBACK: 'true',
  KILN_PROCESSOR_SECRET: vars.PROCESSOR_SECRET ?? '',
});
group.wrangler(process.argv.slice(2));
