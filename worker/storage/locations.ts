import { classifyHost } from '../../common/address.ts';
import { KilnError } from '../../schemas/errors.ts';
import type { KilnConfig } from '../config/index.ts';
import type { BucketObject } from '../job-object/state.ts';
import type { ConnectionRecord, TenantObject } from '../tenant-object/index.ts';
import { decryptSecret, importSealingKeys, UnsealError } from '../utils/crypto.ts';
import type { S3Location } from './presign.ts';

/** The path of wrangler's local R2 S3 endpoint (dev only; production sets R2_S3_ENDPOINT). */
const LOCAL_R2_S3_PATH = '/cdn-cgi/local/r2/s3';

const R2_ENDPOINT_HINT = 'set it in wrangler.toml [vars] to https://<ACCOUNT_ID>.r2.cloudflarestorage.com (README "Deploy")';

/**
 * Local development: ALLOW_LOOPBACK is on and the request reached the Worker on a loopback
 * address, as `wrangler dev` is. Both must hold: a deployed Worker is never reached on loopback,
 * and a production ALLOW_LOOPBACK left on by mistake must not send files to a path that only
 * wrangler serves.
 */
function isLocalDevelopment(config: KilnConfig, origin: string): boolean {
  return config.allowLoopback && classifyHost(new URL(origin).hostname) === 'loopback';
}

/**
 * The S3 endpoint of Kiln's bucket: R2_S3_ENDPOINT, or wrangler's local endpoint in local
 * development. Anything else would hand out URLs nobody can use, so it fails, naming the variable.
 */
function r2Endpoint(config: KilnConfig, origin: string): string {
  const { endpoint } = config.r2;
  if (endpoint) {
    if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol)) {
      throw new KilnError('internal_error', `R2_S3_ENDPOINT is ${JSON.stringify(endpoint.slice(0, 100))}, not a URL; ${R2_ENDPOINT_HINT}.`);
    }
    return endpoint;
  }
  if (isLocalDevelopment(config, origin)) return `${origin}${LOCAL_R2_S3_PATH}`;
  throw new KilnError(
    'internal_error',
    `R2_S3_ENDPOINT is not set, so Kiln cannot sign storage URLs: ${R2_ENDPOINT_HINT}. Only local development (ALLOW_LOOPBACK=true, Worker on a loopback address) uses wrangler's local endpoint instead.`,
  );
}

/** Kiln's own bucket as an S3 location. */
export function kilnBucket(config: KilnConfig, origin: string, key: string): S3Location {
  return {
    endpoint: r2Endpoint(config, origin),
    region: 'auto',
    accessKeyId: config.r2.accessKeyId,
    secretAccessKey: config.r2.secretAccessKey,
    bucket: config.r2.bucket,
    key,
  };
}

/** A connection's secret key, or a failure that says why it does not open and what to do. */
async function openConnectionSecret(config: KilnConfig, connection: ConnectionRecord): Promise<string> {
  try {
    return await decryptSecret(await importSealingKeys(config.connectionKeys), connection.secret_sealed);
  } catch (err) {
    if (!(err instanceof UnsealError)) throw err;
    const cannot = `The S3 connection ${connection.id} cannot be decrypted`;
    const recreate = 'create the connection again with POST /connections';
    const message = {
      unknown_key: `${cannot}: it was sealed with key ${err.keyId}, which is neither CONNECTION_ENCRYPTION_KEY nor listed in CONNECTION_ENCRYPTION_KEYS_PREVIOUS (the key changed since the connection was created). Add that key to CONNECTION_ENCRYPTION_KEYS_PREVIOUS, or ${recreate}.`,
      wrong_keys: `${cannot}: CONNECTION_ENCRYPTION_KEY changed since the connection was created, and no key in CONNECTION_ENCRYPTION_KEYS_PREVIOUS opens it. Add the old key to CONNECTION_ENCRYPTION_KEYS_PREVIOUS, or ${recreate}.`,
      corrupt: `${cannot}: its stored secret is damaged; ${recreate}.`,
    }[err.reason];
    throw new KilnError('internal_error', message, { cause: err });
  }
}

/** A tenant's S3 connection as an S3 location; the secret is decrypted only here. */
export async function connectionBucket(config: KilnConfig, connection: ConnectionRecord | null, where: BucketObject): Promise<S3Location> {
  if (where.type !== 's3') throw new Error('connectionBucket needs an s3 location');
  if (!connection) {
    throw new KilnError('invalid_input', `The connection ${where.connection_id} no longer exists; create it again with POST /connections.`);
  }
  return {
    endpoint: connection.endpoint,
    region: connection.region,
    accessKeyId: connection.access_key_id,
    secretAccessKey: await openConnectionSecret(config, connection),
    bucket: where.bucket,
    key: where.key,
  };
}

/** Any bucket object as an S3 location: Kiln's own, or one behind a connection of `tenant`. */
export async function bucketLocation(opts: {
  config: KilnConfig;
  origin: string;
  tenant: DurableObjectStub<TenantObject>;
  where: BucketObject;
}): Promise<S3Location> {
  const { config, where } = opts;
  if (where.type === 'kiln') return kilnBucket(config, opts.origin, where.key);
  return connectionBucket(config, await opts.tenant.getConnection(where.connection_id), where);
}
