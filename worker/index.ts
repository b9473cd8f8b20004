import { consumeDeadLetters, consumeJobs } from './dispatch/consumer.ts';
import { createApp } from './http/routes.ts';

export { ProcessorContainer } from './dispatch/container.ts';
export { JobObject } from './job-object/index.ts';
export { TenantObject } from './tenant-object/index.ts';

const app = createApp();

/** The dead-letter queue's name in wrangler.toml: its messages fail their jobs. */
const DEAD_LETTER_QUEUE = 'kiln-jobs-dlq';

export default {
  fetch: app.fetch,
  async queue(batch, env) {
    if (batch.queue === DEAD_LETTER_QUEUE) await consumeDeadLetters(batch, env);
    else await consumeJobs(batch, env);
  },
} satisfies ExportedHandler<Env, unknown>;
