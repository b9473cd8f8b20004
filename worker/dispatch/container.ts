import type { DurableObject } from 'cloudflare:workers';
import { Container } from '@cloudflare/containers';
import {
  CONTAINER_HEALTH_TIMEOUT_MS,
  CONTAINER_SLEEP_AFTER,
  CONTAINER_UNANSWERED_CHECKS,
  MIN_CONTAINER_SLEEP_AFTER_S,
} from '../constants.ts';

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
 * `CONTAINER_SLEEP_AFTER` in the library's syntax ("20s", "10m", "1h"). The library throws on
 * anything else, in the constructor and on every request, which would make every instance
 * unusable; a malformed value falls back to the default and says so.
 */
export function containerSleepAfter(raw: string | undefined): string {
  if (!raw) return CONTAINER_SLEEP_AFTER;
  const m = /^(\d+)([smh])$/.exec(raw);
  const seconds = m ? Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'] : 0;
  if (seconds >= MIN_CONTAINER_SLEEP_AFTER_S) return raw;
  console.error(
    `CONTAINER_SLEEP_AFTER "${raw}" is not a time of ${MIN_CONTAINER_SLEEP_AFTER_S}s or more like "20s", "10m" or "1h"; using ${CONTAINER_SLEEP_AFTER}.`,
  );
  return CONTAINER_SLEEP_AFTER;
}

/**
 * The processor image (Dockerfile) as a Cloudflare Container. Used when PROCESSOR_URL is empty
 * (production, `npm run dev:containers`).
 */
export class ProcessorContainer extends Container<Env> {
  override defaultPort = PROCESSOR_PORT;
  /** Requests into the container so far (the library renews the idle timer for each). */
  private renewals = 0;
  /** Idle checks in a row that the processor did not answer. */
  private unansweredChecks = 0;

  constructor(ctx: DurableObject['ctx'], env: Env) {
    super(ctx, env);
    this.sleepAfter = containerSleepAfter(env.CONTAINER_SLEEP_AFTER);
    this.envVars = containerEnvVars(env);
  }

  override renewActivityTimeout(): void {
    this.renewals += 1;
    super.renewActivityTimeout();
  }

  /**
   * Stops the container if it has no run, so the next task starts it with the Worker's current
   * environment (after PROCESSOR_SECRET was rotated); a container with runs is left to finish them.
   */
  async restartIfIdle(): Promise<void> {
    if ((await this.activeRuns()) === 0) await this.stop();
  }

  /**
   * `sleepAfter` only counts requests into the container, and a run gets none: `POST /run`
   * answers at once and progress goes out to the Worker. So before stopping, ask the processor;
   * while it has runs the container stays up (the library renews the timer after this returns).
   * A task that arrives while the processor is being asked also keeps it up, and one unanswered
   * question is not enough to stop a processor that may just be busy encoding.
   */
  override async onActivityExpired(): Promise<void> {
    const renewalsBefore = this.renewals;
    const active = await this.activeRuns();
    if (active === null) {
      this.unansweredChecks += 1;
      if (this.unansweredChecks < CONTAINER_UNANSWERED_CHECKS) return;
    } else {
      this.unansweredChecks = 0;
      if (active > 0) {
        console.log(JSON.stringify({ msg: 'container idle timer expired during runs; staying up', active }));
        return;
      }
    }
    if (this.renewals !== renewalsBefore) return;
    await this.stop();
  }

  /** Runs the processor holds (running or waiting for a slot), or null when it does not answer. */
  private async activeRuns(): Promise<number | null> {
    const container = this.ctx.container;
    if (!container?.running) return 0;
    try {
      const res = await container
        .getTcpPort(PROCESSOR_PORT)
        .fetch('http://container/health', { signal: AbortSignal.timeout(CONTAINER_HEALTH_TIMEOUT_MS) });
      const body: { active?: unknown } = await res.json();
      return typeof body.active === 'number' ? body.active : 0;
    } catch {
      return null;
    }
  }
}
