/**
 * Local mode's S3 connections (docs/api.md#s3-in-local-mode): credentials kept on this machine in
 * `$XDG_CONFIG_HOME/kiln/connections.json` (default `~/.config/kiln`), readable by the user alone.
 * Remote mode's `kiln connections` manages the API's connections instead (cli/remote.ts).
 */
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { CliError } from '../schemas/errors.ts';
import type { ParsedCli } from './args.ts';
import type { CliOutcome } from './outcome.ts';

export const LocalConnection = z.object({
  name: z.string().min(1),
  kind: z.literal('s3'),
  /** Absent for AWS S3 itself, which is addressed virtual-host style from the region. */
  endpoint: z.string().optional(),
  region: z.string().min(1),
  access_key_id: z.string().min(1),
  secret_access_key: z.string().min(1),
  is_default: z.boolean(),
  created_at: z.string(),
});
export type LocalConnection = z.infer<typeof LocalConnection>;

const Store = z.object({ connections: z.array(LocalConnection) });
type Store = z.infer<typeof Store>;

/** What `connections list` shows: everything but the secret. */
export type ListedConnection = Omit<LocalConnection, 'secret_access_key'>;

/** AWS S3's region when neither --region nor an endpoint says otherwise. */
const AWS_DEFAULT_REGION = 'us-east-1';

/**
 * The file local connections live in.
 *
 * @example
 * storePath({ XDG_CONFIG_HOME: '/home/me/.config' }); // '/home/me/.config/kiln/connections.json'
 */
export function storePath(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'kiln', 'connections.json');
}

/** The stored connections, or an error naming the file when it is not Kiln's JSON. */
export async function readConnections(
  env: NodeJS.ProcessEnv,
): Promise<{ ok: true; connections: LocalConnection[] } | { ok: false; error: CliError }> {
  const path = storePath(env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, connections: [] };
    return { ok: false, error: { kind: 'invalid_input', message: `Cannot read ${path}: ${(err as Error).message}` } };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  const parsed = Store.safeParse(json);
  if (!parsed.success) {
    const message = `${path} is not a Kiln connections file; fix it or delete it and add the connections again with kiln connections add s3`;
    return { ok: false, error: { kind: 'invalid_input', message } };
  }
  return { ok: true, connections: parsed.data.connections };
}

/**
 * Replaces the store atomically: a temp file created 0600 in the same directory, then renamed
 * over the old one, so a crash never leaves half a file and the secrets are never world-readable.
 */
async function writeConnections(env: NodeJS.ProcessEnv, connections: LocalConnection[]): Promise<void> {
  const path = storePath(env);
  const dir = join(path, '..');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing directory's mode alone.
  await chmod(dir, 0o700);
  const temp = join(dir, `.connections.${process.pid}.${Date.now()}.tmp`);
  const store: Store = { connections };
  try {
    await writeFile(temp, `${JSON.stringify(store, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

function withoutSecret({ secret_access_key: _, ...listed }: LocalConnection): ListedConnection {
  return listed;
}

function line(c: ListedConnection): string {
  return `${c.name}  ${c.endpoint ?? `AWS S3 (${c.region})`}  ${c.region}  ${c.access_key_id}${c.is_default ? '  (default)' : ''}`;
}

function invalid(message: string): CliOutcome {
  return { ok: false, error: { kind: 'invalid_input', message } };
}

function flag(cli: ParsedCli, kebab: string): string | undefined {
  // Ittybit spells the flags in kebab-case; the snake_case spelling stays an alias.
  const value = cli.flags[kebab] ?? cli.flags[kebab.replaceAll('-', '_')];
  return typeof value === 'string' ? value : undefined;
}

const ADD_USAGE =
  'kiln connections add s3 --name <name> --access-key-id <id> --secret-access-key <secret> [--endpoint <url>] [--region <region>] [--default]';

async function add(cli: ParsedCli, env: NodeJS.ProcessEnv): Promise<CliOutcome> {
  const kind = cli.args[1] ?? 's3';
  if (kind !== 's3') return invalid(`Expected s3 for the connection kind but received "${kind}"; usage: ${ADD_USAGE}`);
  const name = flag(cli, 'name');
  const accessKeyId = flag(cli, 'access-key-id');
  const secret = flag(cli, 'secret-access-key');
  const endpoint = flag(cli, 'endpoint');
  for (const [value, what] of [
    [name, '--name'],
    [accessKeyId, '--access-key-id'],
    [secret, '--secret-access-key'],
  ] as const) {
    if (!value) return invalid(`Missing ${what}; usage: ${ADD_USAGE}`);
  }
  if (endpoint !== undefined && !/^https?:\/\/[^/]/i.test(endpoint)) {
    return invalid(`Expected an http(s) URL for --endpoint but received "${endpoint}"; leave it out for AWS S3`);
  }
  const read = await readConnections(env);
  if (!read.ok) return read;
  const others = read.connections.filter((c) => c.name !== name);
  const previous = read.connections.find((c) => c.name === name);
  // The first connection is the default: with one bucket provider, s3:// paths need no --connection.
  // Saving a connection again (a rotated secret) keeps it the default.
  const isDefault = cli.flags.default === true || others.length === 0 || previous?.is_default === true;
  const added: LocalConnection = {
    name: name!,
    kind: 's3',
    ...(endpoint ? { endpoint: endpoint.replace(/\/+$/, '') } : {}),
    region: flag(cli, 'region') ?? (endpoint ? 'auto' : AWS_DEFAULT_REGION),
    access_key_id: accessKeyId!,
    secret_access_key: secret!,
    is_default: isDefault,
    created_at: new Date().toISOString(),
  };
  await writeConnections(env, [...others.map((c) => (isDefault ? { ...c, is_default: false } : c)), added]);
  return {
    ok: true,
    json: withoutSecret(added),
    lines: [line(withoutSecret(added))],
    notes: [`${previous ? 'replaced' : 'saved'} connection "${added.name}" in ${storePath(env)}`],
  };
}

/**
 * `kiln connections add s3 | list | delete <name>` without an API: reads and writes this machine's store.
 *
 * @example
 * await runLocalConnections(parseCli(['connections', 'list']), process.env);
 */
export async function runLocalConnections(cli: ParsedCli, env: NodeJS.ProcessEnv): Promise<CliOutcome> {
  const [action = 'list', name] = cli.args;
  if (action === 'add') return add(cli, env);
  const read = await readConnections(env);
  if (!read.ok) return read;
  if (action === 'list') {
    const listed = read.connections.map(withoutSecret);
    const notes = listed.length === 0 ? [`no connections in ${storePath(env)}; add one with ${ADD_USAGE}`] : [];
    return { ok: true, json: listed, lines: listed.map(line), notes };
  }
  if (action === 'delete' && name) {
    if (!read.connections.some((c) => c.name === name)) {
      return {
        ok: false,
        error: { kind: 'not_found', message: `No connection named "${name}" in ${storePath(env)}; kiln connections list shows them` },
      };
    }
    await writeConnections(
      env,
      read.connections.filter((c) => c.name !== name),
    );
    return { ok: true, json: { name, deleted: true }, lines: [`deleted ${name}`], notes: [] };
  }
  return invalid(`Expected: kiln connections list | ${ADD_USAGE.replace('kiln connections ', '')} | delete <name>`);
}
