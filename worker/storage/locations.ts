import { KilnError } from '../../schemas/errors.ts';
import type { KilnConfig } from '../config/index.ts';
import type { BucketObject } from '../job-object/state.ts';
import type { ConnectionRecord, TenantObject } from '../tenant-object/index.ts';
import { decryptSecret } from '../utils/crypto.ts';
import type { S3Location } from './presign.ts';

/** The path of wrangler's local R2 S3 endpoint (dev only; production sets R2_S3_ENDPOINT). */
const LOCAL_R2_S3_PATH = '/cdn-cgi/local/r2/s3';

/** Kiln's own bucket as an S3 location. */
export function kilnBucket(config: KilnConfig, origin: string, key: string): S3Location {
  return {
    endpoint: config.r2.endpoint ?? `${origin}${LOCAL_R2_S3_PATH}`,
    region: 'auto',
    accessKeyId: config.r2.accessKeyId,
    secretAccessKey: config.r2.secretAccessKey,
    bucket: config.r2.bucket,
    key,
  };
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
    secretAccessKey: await decryptSecret(config.connectionKey, connection.secret_sealed),
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
