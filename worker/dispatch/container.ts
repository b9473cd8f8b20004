import { Container } from '@cloudflare/containers';

/** Port container/main.ts listens on (PORT in the Dockerfile). */
const PROCESSOR_PORT = 8080;

/**
 * The processor image (Dockerfile) as a Cloudflare Container. Only used when PROCESSOR_URL is
 * empty; local development and tests run the same entrypoint as a plain Node process.
 */
export class ProcessorContainer extends Container<Env> {
  override defaultPort = PROCESSOR_PORT;
  /** Idle containers stop after this; a job's heartbeats keep its container awake. */
  override sleepAfter = '10m';
}
