import { buildDashboard } from './build-dashboard.ts';
import { devVarsFile, processGroup, requireFreePorts } from './dev-stack.ts';
import { CONTAINER_DEV_ARGS, prepareDocker } from './docker.ts';

/**
 * `npm run dev:containers`: the Worker under `wrangler dev` with the processor as a real
 * Cloudflare Container, built from the Dockerfile and started on demand by ProcessorContainer,
 * instead of a local process. Clients still use http://127.0.0.1:8787.
 *
 * The container reaches the Worker at the origin jobs were submitted to (callbacks, presigned
 * local R2 URLs), so wrangler listens on every interface: the dev keys are then reachable from
 * this machine's networks. Use it for development only.
 */
await requireFreePorts([{ port: 8787, host: '0.0.0.0', what: 'the Worker' }]);
const { check, exported } = prepareDocker();
if (!check.ok) {
  console.error(`npm run dev:containers needs a Docker engine: ${check.problem}`);
  console.error('npm run dev runs the same processor as a plain Node process, without Docker.');
  process.exit(1);
}
// The dashboard at / is built assets: rebuild them when a source changed since the last build.
await buildDashboard();
console.log(`Docker ${check.version}: building the processor image from the Dockerfile (minutes the first time).`);

devVarsFile();
processGroup().wrangler([...CONTAINER_DEV_ARGS, ...process.argv.slice(2)], exported);
