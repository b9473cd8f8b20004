import { z } from 'zod';
import { URL_MAX_CHARS } from './job.ts';

/** Longest connection name: room for a bucket and an environment, far below anything that could bloat a list. */
export const CONNECTION_NAME_MAX_CHARS = 128;

/** The storage kinds Kiln can connect: S3-compatible only (AWS S3, R2, MinIO, GCS in S3 mode, …). */
export const ConnectionKind = z.enum(['s3']).describe('Only `s3` (any S3-compatible storage).');

/** Every settable field of a connection, none defaulted: create and update derive from it. */
const ConnectionFields = z.strictObject({
  kind: ConnectionKind,
  name: z
    .string()
    .trim()
    .min(1)
    .max(CONNECTION_NAME_MAX_CHARS)
    .describe("Unique per API key; a second connection with the same name answers 409. Omitted → the connection's id."),
  endpoint: z.url().max(URL_MAX_CHARS).describe('S3-compatible endpoint, e.g. https://<account>.r2.cloudflarestorage.com'),
  region: z.string().min(1).max(64),
  access_key_id: z.string().min(1).max(256),
  secret_access_key: z.string().min(1).max(256).describe('Stored encrypted; never returned.'),
  is_default: z
    .boolean()
    .describe('The connection s3:// inputs and outputs use without a connection_id; setting it unsets the previous default.'),
});

/** Body of POST /connections: Ittybit's `{kind, name, endpoint, region, access_key_id, secret_access_key}`, or Kiln's older body without kind and name. */
export const ConnectionCreate = ConnectionFields.extend({
  kind: ConnectionKind.default('s3'),
  name: ConnectionFields.shape.name.optional(),
  region: ConnectionFields.shape.region.default('auto'),
  is_default: ConnectionFields.shape.is_default.default(false),
}).meta({ id: 'ConnectionCreate' });
export type ConnectionCreate = z.infer<typeof ConnectionCreate>;

/**
 * Body of PATCH /connections/{id}: any field of the create body. Credentials rotate as a pair, so
 * a new key id never meets an old secret.
 */
export const ConnectionUpdate = ConnectionFields.partial()
  .superRefine((patch, ctx) => {
    if ((patch.access_key_id === undefined) === (patch.secret_access_key === undefined)) return;
    const [missing, given] =
      patch.access_key_id === undefined ? ['access_key_id', 'secret_access_key'] : ['secret_access_key', 'access_key_id'];
    ctx.addIssue({ code: 'custom', path: [missing], message: `Expected a value alongside ${given} (credentials rotate as a pair)` });
  })
  .meta({ id: 'ConnectionUpdate' });
export type ConnectionUpdate = z.infer<typeof ConnectionUpdate>;

/** A stored connection as the API returns it (Ittybit's `storage_connection`); the secret key is never returned. */
export const Connection = z
  .object({
    id: z.string(),
    object: z.literal('storage_connection'),
    kind: ConnectionKind,
    name: z.string(),
    endpoint: z.string(),
    region: z.string(),
    access_key_id: z.string(),
    is_default: z.boolean(),
    created_at: z.number().int().describe('Unix milliseconds.'),
    updated_at: z.number().int().describe('Unix milliseconds.'),
  })
  .meta({ id: 'Connection' });
export type Connection = z.infer<typeof Connection>;
