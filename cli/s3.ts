import { readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { FOLDER_UPLOAD_CONCURRENCY } from '../container/run/folder-upload.ts';
import { type CliError, interruptedError } from '../schemas/errors.ts';
import { folderFileTypeOf, isPlaylistPath } from '../schemas/formats.ts';
import { presign } from '../worker/storage/presign.ts';
import { namedConnection } from './api.ts';
import { readConnections } from './connections-store.ts';
import { type Download, download } from './download.ts';
import { putFile } from './put.ts';

/**
 * Lifetime of the URLs the CLI signs for itself: S3 checks it when a request starts, and each URL
 * is used at once, so minutes are plenty even for a 2 GiB upload that then runs for longer.
 */
export const CLI_PRESIGN_EXPIRES_S = 15 * 60;

/** Where AWS S3 lives when no endpoint is given; `{region}` is replaced. */
const AWS_S3_ENDPOINT = 'https://s3.{region}.amazonaws.com';
const AWS_DEFAULT_REGION = 'us-east-1';

export interface S3Path {
  bucket: string;
  key: string;
}

export interface S3Credentials {
  /** Where they came from, for messages: `connection "local-r2"`, `the AWS_* environment variables`. */
  source: string;
  /** How the user corrects a wrong key pair from that source. */
  fix: string;
  /** Unset for AWS S3 itself, addressed virtual-host style; any endpoint given is addressed path-style. */
  endpoint?: string | undefined;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

type Resolved = { ok: true; credentials: S3Credentials } | { ok: false; error: CliError };

/**
 * Splits `s3://bucket/key`; null when there is no bucket or no key.
 *
 * @example
 * parseS3Path('s3://uploads/clip.mov'); // { bucket: 'uploads', key: 'clip.mov' }
 */
export function parseS3Path(url: string): S3Path | null {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  return m?.[1] && m[2] ? { bucket: m[1], key: m[2] } : null;
}

/** The `[profile]` section of an AWS shared credentials file, or null. */
function iniSection(text: string, profile: string): Record<string, string> | null {
  let current: string | null = null;
  const values: Record<string, string> = {};
  let found = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = header[1]!.trim();
      found ||= current === profile;
      continue;
    }
    const pair = /^([^=#;]+?)\s*=\s*(.*)$/.exec(line);
    if (current === profile && pair) values[pair[1]!.toLowerCase()] = pair[2]!;
  }
  return found ? values : null;
}

async function sharedCredentials(env: NodeJS.ProcessEnv): Promise<S3Credentials | null> {
  const file = env.AWS_SHARED_CREDENTIALS_FILE || join(env.HOME || homedir(), '.aws', 'credentials');
  const profile = env.AWS_PROFILE || 'default';
  const text = await readFile(file, 'utf8').catch(() => null);
  const section = text === null ? null : iniSection(text, profile);
  if (!section?.aws_access_key_id || !section.aws_secret_access_key) return null;
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  return {
    source: `the [${profile}] profile of ${file}`,
    fix: `check aws_access_key_id and aws_secret_access_key under [${profile}] in ${file}`,
    endpoint,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || (endpoint ? 'auto' : AWS_DEFAULT_REGION),
    accessKeyId: section.aws_access_key_id,
    secretAccessKey: section.aws_secret_access_key,
    sessionToken: section.aws_session_token,
  };
}

const ADD_HINT =
  'kiln connections add s3 --name <name> --endpoint <url> --region <region> --access-key-id <id> --secret-access-key <secret>';

/**
 * The credentials for s3:// paths, in this order: `--connection`, `KILN_CONNECTION` or
 * `ITTYBIT_CONNECTION` naming a local connection; the local default connection; the AWS CLI's
 * environment variables; the shared credentials file's profile (`AWS_PROFILE`, else `[default]`).
 *
 * @example
 * const resolved = await resolveCredentials(cli.connection, process.env);
 */
export async function resolveCredentials(connection: string | undefined, env: NodeJS.ProcessEnv): Promise<Resolved> {
  const named = namedConnection(connection, env);
  const name = named?.name;
  const read = await readConnections(env);
  if (!read.ok) return read;
  const chosen = name ? read.connections.find((c) => c.name === name) : read.connections.find((c) => c.is_default);
  if (name && !chosen) {
    const known = read.connections.map((c) => c.name).join(', ') || 'none';
    const message = `No local connection named "${name}" (from ${named?.from}); saved ones: ${known}. Add it with ${ADD_HINT.replace('<name>', name)}`;
    return { ok: false, error: { kind: 'invalid_input', message } };
  }
  if (chosen) {
    return {
      ok: true,
      credentials: {
        source: `connection "${chosen.name}"`,
        fix: `save it again with kiln connections add s3 --name ${chosen.name} and the right --access-key-id and --secret-access-key`,
        endpoint: chosen.endpoint,
        region: chosen.region,
        accessKeyId: chosen.access_key_id,
        secretAccessKey: chosen.secret_access_key,
      },
    };
  }
  if (env.AWS_ACCESS_KEY_ID || env.AWS_SECRET_ACCESS_KEY) {
    const missing = env.AWS_ACCESS_KEY_ID ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID';
    if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) {
      return {
        ok: false,
        error: {
          kind: 'invalid_input',
          message: `${missing} is not set; s3:// paths need both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
        },
      };
    }
    const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
    return {
      ok: true,
      credentials: {
        source: 'the AWS_* environment variables',
        fix: 'check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)',
        endpoint,
        region: env.AWS_REGION || env.AWS_DEFAULT_REGION || (endpoint ? 'auto' : AWS_DEFAULT_REGION),
        accessKeyId: env.AWS_ACCESS_KEY_ID,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
        sessionToken: env.AWS_SESSION_TOKEN || undefined,
      },
    };
  }
  const shared = await sharedCredentials(env);
  if (shared) return { ok: true, credentials: shared };
  const message =
    `No S3 credentials for s3:// paths: pass --connection <name> after ${ADD_HINT}, ` +
    'or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_ENDPOINT_URL and AWS_REGION for storage other than AWS S3)';
  return { ok: false, error: { kind: 'invalid_input', message } };
}

function where(c: S3Credentials): string {
  return c.endpoint ?? `AWS S3 (${c.region})`;
}

/**
 * A SigV4 query-signed URL for one object: path-style under a given endpoint (R2, MinIO,
 * wrangler's local R2), virtual-host style on AWS S3 itself, which is phasing path-style out.
 *
 * @example
 * await signedUrl(credentials, { bucket: 'uploads', key: 'clip.mov' }, { method: 'GET' });
 */
export function signedUrl(c: S3Credentials, path: S3Path, op: { method: 'GET' } | { method: 'PUT'; contentType: string }): Promise<string> {
  return presign({
    endpoint: c.endpoint ?? AWS_S3_ENDPOINT.replace('{region}', c.region),
    virtualHost: c.endpoint === undefined,
    region: c.region,
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
    ...path,
    ...op,
    expiresS: CLI_PRESIGN_EXPIRES_S,
  });
}

/**
 * What a refusal from S3 means, in words naming the object and the credentials' source. S3 puts
 * the reason in the XML body's `<Code>`; R2 and MinIO use the same codes.
 */
export function s3Refusal(op: 'read' | 'write', c: S3Credentials, url: string, status: number, body: string): CliError {
  const code = /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
  const kind = op === 'read' ? 'input_unreachable' : 'output_write_failed';
  const head = `${op === 'read' ? 'Reading' : 'Writing'} ${url} failed (HTTP ${status}${code ? ` ${code}` : ''})`;
  const bucket = parseS3Path(url)?.bucket;
  const why = (() => {
    switch (code) {
      case 'InvalidAccessKeyId':
        return `${where(c)} does not know the access key id of ${c.source}; ${c.fix}`;
      case 'SignatureDoesNotMatch':
        return `the secret access key of ${c.source} does not match its access key id; ${c.fix}`;
      case 'NoSuchKey':
        return `there is no such object in bucket "${bucket}" at ${where(c)}; check the key`;
      case 'NoSuchBucket':
        return `there is no bucket "${bucket}" at ${where(c)}; check the bucket name${c.endpoint ? ' and the endpoint' : ' and the region'}`;
      default:
        if (status === 401 || status === 403)
          return `${where(c)} refused ${c.source}; check that its key may ${op} bucket "${bucket}", or ${c.fix}`;
        if (status === 404) return `${where(c)} has no such object; check the bucket and key`;
        return `${where(c)} could not ${op} it; retry, or check the endpoint`;
    }
  })();
  return { kind, message: `${head}: ${why}.` };
}

/**
 * Downloads `s3://bucket/key` into `dir`, within `maxBytes`.
 *
 * @example
 * const file = await getObject(credentials, 's3://uploads/clip.mov', scratch, limits.maxInputBytes, signal);
 */
export async function getObject(c: S3Credentials, url: string, dir: string, maxBytes: number, signal: AbortSignal): Promise<Download> {
  const path = parseS3Path(url);
  if (!path) return { ok: false, error: { kind: 'invalid_input', message: `Expected s3://bucket/key for -i but received "${url}"` } };
  const signed = await signedUrl(c, path, { method: 'GET' });
  return download(signed, dir, maxBytes, signal, {
    name: `${url} from ${where(c)}`,
    refused: (status, body) => s3Refusal('read', c, url, status, body),
  });
}

async function putObject(c: S3Credentials, file: string, url: string, contentType: string, signal: AbortSignal): Promise<CliError | null> {
  const path = parseS3Path(url);
  if (!path) return { kind: 'invalid_input', message: `Expected s3://bucket/key for -o but received "${url}"` };
  const signed = await signedUrl(c, path, { method: 'PUT', contentType });
  try {
    // One PUT takes up to 5 GiB, past the largest output Kiln writes.
    const { status, answer } = await putFile(signed, file, contentType, signal);
    return status >= 200 && status < 300 ? null : s3Refusal('write', c, url, status, answer);
  } catch (err) {
    if (signal.aborted) return interruptedError();
    return { kind: 'output_write_failed', message: `Writing ${url} failed: could not reach ${where(c)}: ${(err as Error).message}.` };
  }
}

/**
 * Uploads a local mode output to `target`. A folder output (HLS) goes under the target's folder
 * with every file at its relative path; the master playlist takes the target's name when it ends
 * in `.m3u8`, as a local `-o` does. Returns the URL written (the master playlist's, for a folder).
 *
 * @example
 * await putOutput(credentials, { path: 'out/master.m3u8', contentType: 'application/vnd.apple.mpegurl', folder: true }, 's3://cdn/clip/stream.m3u8', signal);
 */
export async function putOutput(
  c: S3Credentials,
  produced: { path: string; contentType: string; folder: boolean },
  target: string,
  signal: AbortSignal,
): Promise<{ ok: true; url: string } | { ok: false; error: CliError }> {
  if (!produced.folder) {
    const error = await putObject(c, produced.path, target, produced.contentType, signal);
    return error ? { ok: false, error } : { ok: true, url: target };
  }
  const isPlaylist = isPlaylistPath(target);
  const prefix = isPlaylist ? target.slice(0, target.lastIndexOf('/') + 1) : `${target.replace(/\/+$/, '')}/`;
  const master = basename(produced.path);
  const masterUrl = isPlaylist ? target : `${prefix}${master}`;
  const dir = join(produced.path, '..');
  const names = (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) =>
      join(e.parentPath, e.name)
        .slice(dir.length + 1)
        .replaceAll('\\', '/'),
    )
    .sort();
  const queue = [...names];
  let failure: CliError | null = null;
  await Promise.all(
    Array.from({ length: FOLDER_UPLOAD_CONCURRENCY }, async () => {
      for (let name = queue.shift(); name !== undefined && !failure; name = queue.shift()) {
        const url = name === master ? masterUrl : `${prefix}${name}`;
        const error = await putObject(c, join(dir, name), url, folderFileTypeOf(name), signal);
        failure ??= error;
      }
    }),
  );
  return failure ? { ok: false, error: failure } : { ok: true, url: masterUrl };
}
