import { readFile, rm, writeFile } from 'node:fs/promises';
import { createTestHarness } from 'wrangler';
import { apiClient } from '../../support/api-client.ts';
import { devVars } from '../../support/dev-vars.ts';
import { MEDIA_DIR } from '../../support/media.ts';
import { acquireE2eLock } from './lock.ts';
import { serveDirectory, startProcessor } from './processes.ts';

export { API_KEY } from '../../support/api-client.ts';

/** Credentials of the local R2 S3 endpoint (wrangler.toml `local_dev`). */
export const LOCAL_S3 = { accessKeyId: 'kiln-local-access-key', secretAccessKey: 'kiln-local-secret-key', region: 'auto' };

/**
 * wrangler.toml plus extra local R2 buckets, exposed on the same local S3 endpoint: they play a
 * user's own S3-compatible storage (the seeds' `s3://uploads` and `s3://processed`).
 */
async function configWithBuckets(buckets: string[]): Promise<string> {
  if (buckets.length === 0) return './wrangler.toml';
  const base = await readFile('wrangler.toml', 'utf8');
  const extra = buckets.map(
    (name) =>
      `\n[[r2_buckets]]\nbinding = "TEST_${name.toUpperCase()}"\nbucket_name = "${name}"\n` +
      `local_dev = { experimental_s3_credentials = { accessKeyId = "${LOCAL_S3.accessKeyId}", secretAccessKey = "${LOCAL_S3.secretAccessKey}" } }\n`,
  );
  // One file per process: two e2e stacks may run at once (./lock.ts).
  const path = `wrangler.e2e.${process.pid}.generated.toml`;
  await writeFile(path, base + extra.join(''));
  return `./${path}`;
}

/**
 * The whole local stack as `npm run dev` runs it: the Worker in workerd through wrangler's test
 * harness (Durable Objects, Queues, R2 and its S3 endpoint simulated), a real processor process,
 * and a loopback HTTP server holding the test media. `shared: true` takes no e2e slot: a bench
 * that runs for many minutes (bench/chaos.ts) must not stall other people's e2e files past their
 * hook timeout, and it needs no generated config.
 */
export async function startStack(
  opts: { processorEnv?: Record<string, string>; extraBuckets?: string[]; vars?: Record<string, string>; shared?: boolean } = {},
) {
  if (opts.shared && opts.extraBuckets?.length)
    throw new Error('A shared stack cannot add buckets: it runs beside e2e files and needs no generated config.');
  const lock = opts.shared ? { release: async () => {} } : await acquireE2eLock();
  let processor = await startProcessor(opts.processorEnv);
  const configPath = await configWithBuckets(opts.extraBuckets ?? []);
  const removeConfig = () => (configPath === './wrangler.toml' ? Promise.resolve() : rm(configPath, { force: true }));
  const media = await serveDirectory(MEDIA_DIR);
  const harness = createTestHarness({
    workers: [
      {
        configPath,
        secrets: { ...devVars(), PROCESSOR_URL: processor.url },
        vars: opts.vars ?? {},
      },
    ],
  });
  let url: URL;
  try {
    ({ url } = await harness.listen());
  } catch (err) {
    await Promise.allSettled([processor.stop(), media.close(), harness.close(), removeConfig()]);
    await lock.release();
    throw err;
  }
  const base = url.toString().replace(/\/$/, '');

  const { api, waitForJob } = apiClient(base, () => processor.output());

  return {
    base,
    get processor() {
      return processor;
    },
    /** Kills the processor (SIGKILL, like a crashed container) and starts a fresh one on its port. */
    async restartProcessor() {
      await processor.stop();
      processor = await startProcessor(opts.processorEnv, Number(new URL(processor.url).port));
    },
    /** The Worker's bindings, for what only the platform does (e.g. a queue redelivering a message). */
    workerEnv: () => harness.getWorker<{ JOB_QUEUE: { send(body: unknown): Promise<void> } }>().getEnv(),
    mediaUrl: (name: string) => `${media.url}/${name}`,
    /** How many times the media server was asked for `name` (with its query, if any). */
    mediaRequests: (name: string) => media.requests(`/${name}`),
    api,
    waitForJob,
    async close() {
      await harness.close();
      await processor.stop();
      await media.close();
      await removeConfig();
      await lock.release();
    },
  };
}
