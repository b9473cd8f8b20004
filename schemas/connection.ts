import { z } from 'zod';
import { URL_MAX_CHARS } from './job.ts';

/** Body of POST /connections: an S3-compatible bucket Kiln may read inputs from and write outputs to. */
export const ConnectionCreate = z
  .strictObject({
    endpoint: z.url().max(URL_MAX_CHARS).describe('S3-compatible endpoint, e.g. https://<account>.r2.cloudflarestorage.com'),
    region: z.string().min(1).max(64).default('auto'),
    access_key_id: z.string().min(1).max(256),
    secret_access_key: z.string().min(1).max(256).describe('Stored encrypted; never returned.'),
    is_default: z.boolean().default(false),
  })
  .meta({ id: 'ConnectionCreate' });

/** A stored connection as the API returns it; the secret key is never returned. */
export const Connection = z
  .object({
    id: z.string(),
    object: z.literal('connection'),
    endpoint: z.string(),
    region: z.string(),
    access_key_id: z.string(),
    is_default: z.boolean(),
    created_at: z.number().int(),
  })
  .meta({ id: 'Connection' });
export type Connection = z.infer<typeof Connection>;
