import type { KilnConfig } from '../config/index.ts';
import { invalidField } from '../http/errors.ts';
import type { InputSource } from '../job-object/state.ts';
import { checkOutboundUrl } from '../net/outbound.ts';
import { parseFileUrl } from '../storage/keys.ts';
import type { TenantObject } from '../tenant-object/index.ts';

/** What `input` takes, for the 400 that refuses something else: a local path is the usual mistake, and an upload is its fix. */
export const INPUT_EXPECTED = 'a URL (https://…), a file_… id from POST /uploads, or s3://bucket/key';

/** Parses `s3://bucket/key` into its parts. */
export function parseS3Url(raw: string): { bucket: string; key: string } | null {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(raw);
  return m?.[1] && m[2] ? { bucket: m[1], key: m[2] } : null;
}

/**
 * The 400 for a `connection_id` the tenant does not have: another tenant's, a deleted one, or one
 * Kiln never issued (such as an id copied from Ittybit's docs).
 *
 * @example throw unknownConnectionId('con_abcdefgh12345678')
 */
export function unknownConnectionId(id: string) {
  return invalidField('connection_id', `No connection ${id} exists for this API key; list yours with GET /connections`);
}

/**
 * Resolves a job's `input` into where the processor will read it from: a Kiln upload (by id or
 * by the URL Kiln returned), an object behind the tenant's S3 connection, or an http(s) URL.
 */
export async function resolveInput(opts: {
  input: string;
  connectionId: string | undefined;
  config: KilnConfig;
  origin: string;
  tenant: DurableObjectStub<TenantObject>;
}): Promise<InputSource> {
  const { input, config } = opts;
  if (input.startsWith('file_')) {
    const upload = await opts.tenant.getUpload(input);
    if (!upload) throw invalidField('input', `No file ${input} was uploaded with this API key`);
    return { type: 'kiln', key: upload.key };
  }
  const s3 = parseS3Url(input);
  if (input.startsWith('s3://')) {
    if (!s3) throw invalidField('input', 'Expected s3://bucket/key for input');
    const connection = await opts.tenant.getConnection(opts.connectionId);
    if (!connection) {
      if (opts.connectionId) throw unknownConnectionId(opts.connectionId);
      throw invalidField(
        'input',
        'An s3:// input needs a connection: create one with POST /connections (is_default: true) or pass connection_id',
      );
    }
    return { type: 's3', connection_id: connection.id, ...s3 };
  }
  const fileUrl = parseFileUrl(input, { origin: opts.origin, publicBase: config.publicFilesBaseUrl });
  if (fileUrl.type === 'invalid') {
    throw invalidField('input', 'That URL is not a file Kiln returned; pass the file id or the exact URL from an upload or a job');
  }
  if (fileUrl.type === 'key') {
    const { key } = fileUrl;
    if (key.startsWith('outputs/')) return { type: 'kiln', key };
    const upload = await opts.tenant.getUpload(key.slice('uploads/'.length));
    if (!upload) throw invalidField('input', 'That file URL does not belong to an upload made with this API key');
    return { type: 'kiln', key: upload.key };
  }
  checkOutboundUrl(input, 'input', { allowLoopback: config.allowLoopback, expected: INPUT_EXPECTED });
  return { type: 'url', url: input };
}
