import { KilnError } from '../../schemas/errors.ts';
import { MIN_SECRET_LENGTH } from '../../schemas/processor.ts';
import {
  HEARTBEAT_TIMEOUT_MS,
  RATE_LIMIT_JOBS_PER_MINUTE,
  RATE_LIMIT_UPLOADS_PER_MINUTE,
  TENANT_MAX_CONCURRENT_JOBS,
} from '../constants.ts';
import { sealingKeyBytes } from '../utils/crypto.ts';

/**
 * The Worker's configuration, read from bindings once per request. Secrets are documented in
 * README "Deploy"; development values come from .dev.vars (see .dev.vars.example).
 */
export interface KilnConfig {
  /** API key → tenant id, or null for a bare key: its own tenant, named by {@link bareKeyTenant}. */
  apiKeys: Map<string, string | null>;
  /** The tenant whose initial webhook secret is WEBHOOK_SECRET (README "Deploy"), or null. */
  webhookPin: { tenant: string; secret: string } | null;
  callbackSecret: string;
  allowLoopback: boolean;
  processorUrl: string | undefined;
  /** Bearer secret for every task sent to the processor (its KILN_PROCESSOR_SECRET). */
  processorSecret: string;
  /** Container instances tasks are spread over; wrangler.toml's `max_instances`. */
  containerInstances: number;
  r2: { accessKeyId: string; secretAccessKey: string; endpoint: string | undefined; bucket: string };
  publicFilesBaseUrl: string | undefined;
  /**
   * Keys sealing connection secrets (base64, 32 bytes each): CONNECTION_ENCRYPTION_KEY seals, the
   * comma-separated CONNECTION_ENCRYPTION_KEYS_PREVIOUS still open what they sealed (README "Deploy").
   */
  connectionKeys: { current: string; previous: string[] };
  /** Silence after which a run counts as lost (constants.ts HEARTBEAT_TIMEOUT_MS). */
  heartbeatTimeoutMs: number;
  /** Per-tenant limits (constants.ts, docs/behaviour.md#limits-per-tenant). */
  limits: { jobsPerMinute: number; uploadsPerMinute: number; maxConcurrentJobs: number };
}

/**
 * A limit var: a positive whole number, or the default when unset. A malformed value also gets
 * the default, with a log line naming it, rather than failing every request over a tuning knob.
 */
function limitVar(name: string, raw: string | undefined, fallback: number): number {
  if (!raw) return fallback;
  const value = Number(raw);
  if (Number.isInteger(value) && value >= 1) return value;
  console.error(`${name} "${raw}" is not a whole number of 1 or more; using ${fallback}.`);
  return fallback;
}

/** The bucket name in wrangler.toml; presigned URLs address the bucket by name. */
const DEFAULT_BUCKET = 'kiln-media';

/** A tenant name in `API_KEYS`: it names Durable Objects and storage prefixes. */
const TENANT_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Parses `API_KEYS`: comma-separated entries, each `tenant:key` (the key may itself contain `:`)
 * or a bare `key`, which is a tenant of its own. A malformed value throws, naming the entry by its
 * position and never echoing a key, so a typo cannot silently merge tenants or drop a key.
 *
 * @example parseApiKeys('acme:sk_1,sk_2') // Map { 'sk_1' => 'acme', 'sk_2' => null }
 */
export function parseApiKeys(raw: string | undefined): Map<string, string | null> {
  const keys = new Map<string, string | null>();
  const entries = (raw ?? '').split(',').map((e) => e.trim());
  const problem = (i: number, what: string) =>
    new KilnError('internal_error', `API_KEYS entry ${i + 1} of ${entries.length} ${what}; see README "Deploy".`);
  entries.forEach((entry, i) => {
    if (!entry) throw problem(i, 'is empty (a stray comma?)');
    const colon = entry.indexOf(':');
    const tenant = colon === -1 ? null : entry.slice(0, colon);
    const key = colon === -1 ? entry : entry.slice(colon + 1);
    if (tenant !== null && !TENANT_NAME.test(tenant)) throw problem(i, 'has a tenant name that is not 1–64 letters, digits, _ or -');
    if (!key) throw problem(i, `has no key after "${tenant}:"`);
    if (keys.has(key)) throw problem(i, 'repeats a key given earlier');
    keys.set(key, tenant);
  });
  return keys;
}

/**
 * The tenant of a bare key in `API_KEYS`: a name derived from the key, so it is stable across
 * deploys and distinct per key, without the key itself ending up in object names or logs.
 */
export async function bareKeyTenant(key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key)));
  return `key-${[...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** A Standard Webhooks secret: `whsec_` and base64. */
const WHSEC = /^whsec_(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Reads `WEBHOOK_SECRET_TENANT` and `WEBHOOK_SECRET`: the named tenant starts with WEBHOOK_SECRET
 * as its webhook secret instead of a random one. Throws, never echoing the secret, when the pair
 * is incomplete or malformed, so a typo cannot leave that tenant's receivers failing every webhook.
 */
export function parseWebhookPin(tenant: string | undefined, secret: string | undefined): KilnConfig['webhookPin'] {
  if (!tenant) return null;
  const problem = (what: string) => new KilnError('internal_error', `${what}; see README "Deploy".`);
  if (!TENANT_NAME.test(tenant)) throw problem('WEBHOOK_SECRET_TENANT is not a tenant name (1–64 letters, digits, _ or -)');
  if (!secret) throw problem(`WEBHOOK_SECRET_TENANT names ${tenant} but the secret WEBHOOK_SECRET is not configured`);
  if (!WHSEC.test(secret) || secret === 'whsec_') throw problem('The secret WEBHOOK_SECRET is not "whsec_" followed by base64');
  return { tenant, secret };
}

/**
 * The connection sealing keys, each checked to be 32 bytes of base64 so a bad paste fails every
 * request with the variable's name instead of failing jobs one by one.
 */
function connectionKeys(current: string, previous: string | undefined): KilnConfig['connectionKeys'] {
  const bad = (what: string) =>
    new KilnError('internal_error', `${what} is not 32 bytes of base64 (openssl rand -base64 32); see README "Deploy".`);
  if (!sealingKeyBytes(current)) throw bad('The secret CONNECTION_ENCRYPTION_KEY');
  const older = (previous ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  older.forEach((key, i) => {
    if (!sealingKeyBytes(key)) throw bad(`Entry ${i + 1} of CONNECTION_ENCRYPTION_KEYS_PREVIOUS`);
  });
  return { current, previous: older };
}

export function readConfig(env: Env): KilnConfig {
  for (const name of ['API_KEYS', 'CALLBACK_SECRET', 'CONNECTION_ENCRYPTION_KEY', 'PROCESSOR_SECRET'] as const) {
    if (!env[name]) throw new KilnError('internal_error', `The secret ${name} is not configured; see README "Deploy".`);
  }
  if (env.PROCESSOR_SECRET.length < MIN_SECRET_LENGTH) {
    throw new KilnError(
      'internal_error',
      `The secret PROCESSOR_SECRET is shorter than ${MIN_SECRET_LENGTH} characters; see README "Deploy".`,
    );
  }
  // Parsed when read, so a malformed value fails only what needs it (requests with an API key, a
  // webhook, a connection) and never the callbacks, alarms and queue that keep running jobs moving.
  return {
    get apiKeys() {
      return parseApiKeys(env.API_KEYS);
    },
    get webhookPin() {
      return parseWebhookPin(env.WEBHOOK_SECRET_TENANT, env.WEBHOOK_SECRET);
    },
    callbackSecret: env.CALLBACK_SECRET,
    allowLoopback: env.ALLOW_LOOPBACK === 'true',
    processorUrl: env.PROCESSOR_URL || undefined,
    processorSecret: env.PROCESSOR_SECRET,
    containerInstances: Number(env.CONTAINER_INSTANCES) >= 1 ? Math.floor(Number(env.CONTAINER_INSTANCES)) : 1,
    r2: {
      accessKeyId: env.R2_ACCESS_KEY_ID,
      secretAccessKey: env.R2_SECRET_ACCESS_KEY,
      endpoint: env.R2_S3_ENDPOINT || undefined,
      bucket: env.R2_BUCKET_NAME || DEFAULT_BUCKET,
    },
    publicFilesBaseUrl: env.PUBLIC_FILES_BASE_URL || undefined,
    get connectionKeys() {
      return connectionKeys(env.CONNECTION_ENCRYPTION_KEY, env.CONNECTION_ENCRYPTION_KEYS_PREVIOUS);
    },
    heartbeatTimeoutMs: Number(env.HEARTBEAT_TIMEOUT_S) > 0 ? Number(env.HEARTBEAT_TIMEOUT_S) * 1000 : HEARTBEAT_TIMEOUT_MS,
    limits: {
      jobsPerMinute: limitVar('RATE_LIMIT_JOBS_PER_MINUTE', env.RATE_LIMIT_JOBS_PER_MINUTE, RATE_LIMIT_JOBS_PER_MINUTE),
      uploadsPerMinute: limitVar('RATE_LIMIT_UPLOADS_PER_MINUTE', env.RATE_LIMIT_UPLOADS_PER_MINUTE, RATE_LIMIT_UPLOADS_PER_MINUTE),
      maxConcurrentJobs: limitVar('TENANT_MAX_CONCURRENT_JOBS', env.TENANT_MAX_CONCURRENT_JOBS, TENANT_MAX_CONCURRENT_JOBS),
    },
  };
}
