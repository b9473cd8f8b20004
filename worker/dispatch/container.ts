import { Container } from '@cloudflare/containers';
import type { DurableObject } from 'cloudflare:workers';
import { CONTAINER_HEALTH_TIMEOUT_MS, CONTAINER_SLEEP_AFTER } from '../constants.ts';

/** Port container/main.ts listens on (PORT in the Dockerfile). */
export const PROCESSOR_PORT = 8080;

/**
 * The processor's environment inside the container: every Worker var named `KILN_*` (tuning and
 * limits, container/settings.ts), the shared secret, and loopback access only where the Worker
 * itself allows it (development).
 */
export function containerEnvVars(env: Env): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('KILN_') && typeof value === 'string') vars[name] = value;
  }
  vars.KILN_PROCESSOR_SECRET = env.PROCESSOR_SECRET ?? '';
  vars.KILN_ALLOW_LOOPBACK = env.ALLOW_LOOPBACK === 'true' ? 'true' : 'false';
  return vars;
}

/**
 * The processor image (Dockerfile) as a Cloudflare Container. Used when PROCESSOR_URL is empty
 * (production, `npm run dev:containers`).
 */
export class ProcessorContainer extends Container<Env> {
  override defaultPort = PROCESSOR_PORT;

  constructor(ctx: DurableObject['ctx'], env: Env) {
    super(ctx, env);
    this.sleepAfter = env.CONTAINER_SLEEP_AFTER || CONTAINER_SLEEP_AFTER;
    this.envVars = containerEnvVars(env);
  }

  /**
   * `sleepAfter` only counts requests into the container, and a run gets none: `POST /run`
   * answers at once and progress goes out to the Worker. So before stopping, ask the processor;
   * while it has runs the container stays up (the library renews the timer after this returns).
   */
  override async onActivityExpired(): Promise<void> {
    const active = await this.activeRuns();
    if (active > 0) {
      console.log(JSON.stringify({ msg: 'container idle timer expired during runs; staying up', active }));
      return;
    }
    await this.stop();
  }

  /** Runs the processor holds (running or waiting for a slot); 0 when it does not answer. */
  private async activeRuns(): Promise<number> {
    const container = this.ctx.container;
    if (!container?.running) return 0;
    try {
      const res = await container
        .getTcpPort(PROCESSOR_PORT)
        .fetch('http://container/health', { signal: AbortSignal.timeout(CONTAINER_HEALTH_TIMEOUT_MS) });
      const body: { active?: unknown } = await res.json();
      return typeof body.active === 'number' ? body.active : 0;
    } catch {
      return 0;
    }
  }
}
