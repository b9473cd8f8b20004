import { KilnError } from '../../schemas/errors.ts';
import { MIN_SECRET_LENGTH } from '../../schemas/processor.ts';
import { HEARTBEAT_TIMEOUT_MS } from '../constants.ts';

/**
 * The Worker's configuration, read from bindings once per request. Secrets are documented in
 * README "Deploy"; development values come from .dev.vars (see .dev.vars.example).
 */
export interface KilnConfig {
  /** API key → tenant id. */
  apiKeys: Map<string, string>;
  webhookSecret: string;
  callbackSecret: string;
  allowLoopback: boolean;
  processorUrl: string | undefined;
  /** Bearer secret for every task sent to the processor (its KILN_PROCESSOR_SECRET). */
  processorSecret: string;
  /** Container instances tasks are spread over; wrangler.toml's `max_instances`. */
  containerInstances: number;
  r2: { accessKeyId: string; secretAccessKey: string; endpoint: string | undefined; bucket: string };
  publicFilesBaseUrl: string | undefined;
  connectionKey: string;
  /** Silence after which a run counts as lost (constants.ts HEARTBEAT_TIMEOUT_MS). */
  heartbeatTimeoutMs: number;
}

/** The bucket name in wrangler.toml; presigned URLs address the bucket by name. */
const DEFAULT_BUCKET = 'kiln-media';

/**
 * Parses `API_KEYS`: comma-separated `tenant:key` pairs (a bare key is its own tenant "default").
 *
 * @example parseApiKeys('acme:sk_1,beta:sk_2') // Map { 'sk_1' => 'acme', 'sk_2' => 'beta' }
 */
export function parseApiKeys(raw: string | undefined): Map<string, string> {
  const keys = new Map<string, string>();
  for (const entry of (raw ?? '').split(',')) {
    const trimmed = entry.trim();
    if (!trimmed) continue;
    const colon = trimmed.indexOf(':');
    const [tenant, key] = colon === -1 ? ['default', trimmed] : [trimmed.slice(0, colon), trimmed.slice(colon + 1)];
    if (key) keys.set(key, tenant);
  }
  return keys;
}

export function readConfig(env: Env): KilnConfig {
  for (const name of ['API_KEYS', 'WEBHOOK_SECRET', 'CALLBACK_SECRET', 'CONNECTION_ENCRYPTION_KEY', 'PROCESSOR_SECRET'] as const) {
    if (!env[name]) throw new KilnError('internal_error', `The secret ${name} is not configured; see README "Deploy".`);
  }
  if (env.PROCESSOR_SECRET.length < MIN_SECRET_LENGTH) {
    throw new KilnError(
      'internal_error',
      `The secret PROCESSOR_SECRET is shorter than ${MIN_SECRET_LENGTH} characters; see README "Deploy".`,
    );
  }
  return {
    apiKeys: parseApiKeys(env.API_KEYS),
    webhookSecret: env.WEBHOOK_SECRET,
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
    connectionKey: env.CONNECTION_ENCRYPTION_KEY,
    heartbeatTimeoutMs: Number(env.HEARTBEAT_TIMEOUT_S) > 0 ? Number(env.HEARTBEAT_TIMEOUT_S) * 1000 : HEARTBEAT_TIMEOUT_MS,
  };
}
