import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIN_SECRET_LENGTH } from '../schemas/processor.ts';
import { type Limits, limitsFromEnv } from './limits.ts';

/**
 * Everything the processor reads from its environment, checked in one place. In a Cloudflare
 * Container the Worker sets these (worker/dispatch/container.ts passes its `KILN_*` vars and the
 * processor secret); a self-hosted processor gets them from its own environment.
 */
export interface ProcessorSettings {
  port: number;
  host: string;
  /** Runs at once; each ffmpeg already uses every core, so more mostly adds memory pressure. */
  concurrency: number;
  /** Accepted runs that wait for a slot, so a burst is absorbed here instead of in queue retries. */
  backlog: number;
  limits: Limits;
  /** Development only: inputs and outputs may live on loopback (wrangler's local R2). */
  allowLoopback: boolean;
  tmpRoot: string;
  /** The bearer secret every mutating request must carry (the Worker's PROCESSOR_SECRET). */
  secret: string;
}

const DEFAULT_PORT = 8080;
const DEFAULT_CONCURRENCY = 2;
const DEFAULT_BACKLOG = 16;

function integer(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
  range: { min: number; max?: number },
  problems: string[],
): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isInteger(value) || value < range.min || value > max) {
    problems.push(`${name} must be an integer from ${range.min}${range.max ? ` to ${range.max}` : ' up'}, but is "${raw}".`);
    return fallback;
  }
  return value;
}

const MAX_PORT = 65_535;

/**
 * Reads and checks the processor's environment. Every problem is reported at once, each naming
 * its variable, so one deploy fixes them all.
 *
 * @example readSettings({ KILN_PROCESSOR_SECRET: 'x'.repeat(32) }) // { ok: true, settings: { port: 8080, … } }
 */
export function readSettings(
  env: Record<string, string | undefined>,
): { ok: true; settings: ProcessorSettings } | { ok: false; problems: string[]; listen: Pick<ProcessorSettings, 'port' | 'host'> } {
  const problems: string[] = [];
  const port = integer(env, 'PORT', DEFAULT_PORT, { min: 1, max: MAX_PORT }, problems);
  const host = env.HOST ?? '0.0.0.0';
  const concurrency = integer(env, 'KILN_CONCURRENCY', DEFAULT_CONCURRENCY, { min: 1 }, problems);
  const backlog = integer(env, 'KILN_BACKLOG', DEFAULT_BACKLOG, { min: 0 }, problems);
  let limits: Limits | null = null;
  try {
    limits = limitsFromEnv(env);
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
  }
  const secret = env.KILN_PROCESSOR_SECRET ?? '';
  if (secret.length < MIN_SECRET_LENGTH) {
    problems.push(
      secret
        ? `KILN_PROCESSOR_SECRET is shorter than ${MIN_SECRET_LENGTH} characters.`
        : "KILN_PROCESSOR_SECRET is not set: it must equal the Worker's PROCESSOR_SECRET, which authenticates every task.",
    );
  }
  // A misconfigured processor still listens (container/main.ts), so it needs an address.
  if (problems.length > 0 || !limits) return { ok: false, problems, listen: { port, host } };
  return {
    ok: true,
    settings: {
      port,
      host,
      concurrency,
      backlog,
      limits,
      allowLoopback: env.KILN_ALLOW_LOOPBACK === 'true',
      tmpRoot: env.KILN_TMP_DIR ?? join(tmpdir(), 'kiln'),
      secret,
    },
  };
}
