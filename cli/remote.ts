/**
 * Remote mode (docs/api.md#cli): the same commands against a Kiln deployment. A local input is uploaded
 * straight to storage, the job is submitted and followed with a progress bar, and the output is
 * downloaded to -o. `kiln jobs` and `kiln connections` manage what lives on the service.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { typeOfExtension } from '../container/probe/mime.ts';
import type { Connection } from '../schemas/connection.ts';
import type { CliError } from '../schemas/errors.ts';
import { isPlaylistPath, PLAYLIST_EXTENSION, writesFolder } from '../schemas/formats.ts';
import { isTerminal, type Job } from '../schemas/job.ts';
import type { JobKind } from '../schemas/options.ts';
import type { Upload } from '../schemas/upload.ts';
import { type ApiClient, apiClient, namedConnection } from './api.ts';
import { COMMANDS, isEncodeKind, type ParsedCli, type TaskKindName } from './args.ts';
import { readJson } from './json-argument.ts';
import { type CliOutcome, describe, noSuchFile, taskInput } from './outcome.ts';
import { isS3Url } from './paths.ts';
import { progressBar } from './progress.ts';
import { putFile } from './put.ts';
import { readRecipe, recipeOutputName } from './recipe.ts';

/** How often a waiting CLI asks for the job; progress is coarse, so once a second is plenty. */
export const POLL_INTERVAL_MS = 1_000;

/** `kiln jobs` lists this many without --limit, as Ittybit's CLI does (the API's own default is 20). */
export const JOBS_DEFAULT_LIMIT = 10;

function fail(kind: CliError['kind'], message: string): CliOutcome {
  return { ok: false, error: { kind, message } };
}

/** `--metadata user_id=usr_1` (repeatable) → `{ user_id: 'usr_1' }`. */
export function parseMetadata(pairs: string[]): { ok: true; metadata: Record<string, string> } | { ok: false; error: CliError } {
  const metadata: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0)
      return { ok: false, error: { kind: 'invalid_input', message: `Expected key=value for --metadata but received "${pair}"` } };
    metadata[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { ok: true, metadata };
}

/** Uploads a local file with POST /uploads and a streaming PUT; returns the file id to use as input. */
async function upload(
  api: ApiClient,
  path: string,
  signal: AbortSignal,
): Promise<{ ok: true; id: string } | { ok: false; error: CliError }> {
  const { size } = await stat(path);
  const ext = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
  const contentType = typeOfExtension(ext) ?? 'application/octet-stream';
  const created = await api.call<Upload>('POST', '/uploads', {
    filename: basename(path),
    content_type: contentType,
    size,
  });
  if (!created.ok) return created;
  try {
    // The upload URL comes from the Kiln the user chose, which may well be self-hosted on a private
    // network: no SSRF guard here, unlike the processor's fetches of URLs users hand it.
    const { status, answer } = await putFile(created.body.upload_url, path, contentType, signal);
    if (status >= 300) {
      // The upload URL is signed with the declared Content-Type; storage names a mismatch only by this code.
      const hint = answer.includes('<Code>SignatureDoesNotMatch</Code>')
        ? ` Storage refused the signature: the upload URL accepts only Content-Type: ${contentType}, as declared to POST /uploads.`
        : '';
      return { ok: false, error: { kind: 'output_write_failed', message: `Uploading ${path} failed with HTTP ${status}.${hint}` } };
    }
  } catch (err) {
    return { ok: false, error: { kind: 'input_unreachable', message: `Uploading ${path} failed: ${(err as Error).message}` } };
  }
  return { ok: true, id: created.body.file.id };
}

async function saveOutput(url: string, target: string, signal: AbortSignal): Promise<CliError | null> {
  const res = await fetch(url, { signal });
  if (!res.ok || !res.body)
    return { kind: 'input_unreachable', message: `Downloading the output from ${url} failed with HTTP ${res.status}.` };
  await mkdir(dirname(resolve(target)), { recursive: true });
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), createWriteStream(target));
  return null;
}

/**
 * The local relative path for `relative`, a path the server's playlists named under the output's
 * folder: each of its parts must be a plain file name once percent-decoded, or null. A decoded
 * `..%2F` or `%5C`, a NUL, a drive (`C:`) or an empty part could otherwise write outside -o.
 */
function plainRelativePath(relative: string): string | null {
  const parts: string[] = [];
  for (const encoded of relative.split('/')) {
    let name: string;
    try {
      name = decodeURIComponent(encoded);
    } catch {
      return null;
    }
    if (name === '' || name === '.' || name === '..' || /[/\\\0:]/.test(name)) return null;
    parts.push(name);
  }
  return parts.join('/');
}

/**
 * Downloads an HLS output: the master playlist, every playlist it names and every segment those
 * name, keeping their relative paths under `dir`. Only URIs under the master's folder are followed,
 * and only names that are plain file names (see {@link plainRelativePath}).
 */
async function saveHls(masterUrl: string, target: string, signal: AbortSignal): Promise<CliError | null> {
  const isPlaylist = isPlaylistPath(target);
  const dir = isPlaylist ? dirname(target) : target;
  const root = new URL('.', masterUrl).toString();
  const pending = [masterUrl];
  const seen = new Set<string>();
  for (let url = pending.shift(); url; url = pending.shift()) {
    if (seen.has(url) || !url.startsWith(root)) continue;
    seen.add(url);
    const named = url.slice(root.length).split(/[?#]/)[0] ?? '';
    const relativePath = plainRelativePath(named);
    if (relativePath === null) {
      return {
        kind: 'output_write_failed',
        message: `The server's playlist names "${named}", which is not a plain file name once decoded (it has /, \\, .., NUL, a drive or an empty part); refused, so that nothing is written outside ${dir}.`,
      };
    }
    const local = url === masterUrl && isPlaylist ? target : resolve(dir, relativePath);
    const error = await saveOutput(url, local, signal);
    if (error) return error;
    if (url.endsWith(`.${PLAYLIST_EXTENSION}`)) {
      const text = await readFile(local, 'utf8');
      for (const line of text.split('\n')) {
        const uri = line.trim();
        if (uri && !uri.startsWith('#')) pending.push(new URL(uri, url).toString());
      }
    }
  }
  return null;
}

function jobLine(job: Job): string {
  const out = job.output ? ` → ${job.output.url}` : job.error ? ` (${job.error.kind}: ${job.error.message})` : '';
  return `${job.id}  ${job.kind.padEnd(14)} ${job.status.padEnd(10)} ${String(job.progress).padStart(3)}%  ${job.input}${out}`;
}

async function follow(api: ApiClient, job: Job, json: boolean, signal: AbortSignal): Promise<Job | CliError> {
  const bar = json ? progressBar({ isTTY: false } as NodeJS.WriteStream) : progressBar(process.stderr);
  let current = job;
  try {
    while (!isTerminal(current.status)) {
      await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
      if (signal.aborted) {
        return { kind: 'cancelled', message: `Stopped waiting; job ${job.id} goes on. See it with: kiln jobs ${job.id}` };
      }
      const next = await api.call<Job>('GET', `/jobs/${job.id}`);
      if (!next.ok) return next.error;
      current = next.body;
      const stage = current.tasks.find((t) => t.status === 'processing')?.kind ?? current.status;
      bar.update(stage, current.progress);
    }
  } finally {
    bar.done();
  }
  return current;
}

async function runJobs(api: ApiClient, cli: ParsedCli, signal: AbortSignal): Promise<CliOutcome> {
  const [first, extra] = cli.args;
  if (first === 'create') {
    const raw = typeof cli.flags.body === 'string' ? cli.flags.body : undefined;
    if (raw === undefined) {
      const message = 'Missing --body: kiln jobs create --body job.json, --body - (stdin) or --body \'{"input":…}\'';
      return { ok: false, error: { kind: 'invalid_input', message } };
    }
    const body = await readJson(raw, '--body');
    if (!body.ok) return body;
    const created = await api.call<Job>('POST', '/jobs', body.json);
    if (!created.ok) return created;
    return finish(api, cli, created.body, signal);
  }
  if (extra !== undefined)
    return fail('invalid_input', `Unexpected argument "${extra}"; expected kiln jobs, kiln jobs <job_id> or kiln jobs create --body …`);
  if (first) {
    const res = await api.call<Job>('GET', `/jobs/${encodeURIComponent(first)}`);
    if (!res.ok) return res;
    return { ok: true, json: res.body, lines: [jobLine(res.body)], notes: [] };
  }
  const query = new URLSearchParams();
  for (const key of ['kind', 'status', 'after', 'before'] as const) {
    const value = cli.flags[key];
    if (typeof value === 'string') query.set(key, key === 'kind' ? (COMMANDS[value] ?? value) : value);
  }
  query.set('limit', typeof cli.flags.limit === 'string' ? cli.flags.limit : String(JOBS_DEFAULT_LIMIT));
  const res = await api.call<Job[]>('GET', `/jobs?${query}`);
  if (!res.ok) return res;
  return { ok: true, json: res.body, lines: res.body.map(jobLine), notes: [] };
}

/** A connection as listed; `name` is optional until every deployment stores one. */
type Named = Connection & { name?: string };

/** The connections the API holds, to find one by the name a user gave. */
async function findConnection(
  api: ApiClient,
  nameOrId: string,
): Promise<{ ok: true; connection: Connection } | { ok: false; error: CliError }> {
  const res = await api.call<Connection[]>('GET', '/connections');
  if (!res.ok) return res;
  const found = res.body.find((c) => c.id === nameOrId) ?? res.body.find((c: Named) => c.name === nameOrId);
  if (found) return { ok: true, connection: found };
  const names = res.body.map((c: Named) => c.name ?? c.id);
  const known = names.length ? `; yours are ${names.join(', ')}` : '; there are none yet (kiln connections add s3 …)';
  return { ok: false, error: { kind: 'not_found', message: `No connection named or with id "${nameOrId}"${known}` } };
}

async function runConnections(api: ApiClient, cli: ParsedCli): Promise<CliOutcome> {
  const [action = 'list', target] = cli.args;
  const line = (c: Named) =>
    `${c.id}  ${c.name ?? '-'}  ${c.endpoint}  ${c.region}  ${c.access_key_id}${c.is_default ? '  (default)' : ''}`;
  if (action === 'list') {
    const res = await api.call<Connection[]>('GET', '/connections');
    return res.ok ? { ok: true, json: res.body, lines: res.body.map(line), notes: [] } : res;
  }
  if (action === 'add') {
    if (target !== undefined && target !== 's3') {
      return fail('invalid_input', `Expected kiln connections add s3 but received "${target}"; Kiln connects S3-compatible storage only`);
    }
    const f = cli.flags;
    const res = await api.call<Connection>('POST', '/connections', {
      // Ittybit's `add s3` names the kind; the bare `add` of older kiln versions sends none.
      ...(target ? { kind: target } : {}),
      ...(typeof f.name === 'string' ? { name: f.name } : {}),
      endpoint: f.endpoint,
      region: typeof f.region === 'string' ? f.region : 'auto',
      access_key_id: f.access_key_id,
      secret_access_key: f.secret_access_key,
      is_default: f.default === true,
    });
    return res.ok ? { ok: true, json: res.body, lines: [line(res.body)], notes: [] } : res;
  }
  if (action === 'delete' && target) {
    const found = await findConnection(api, target);
    if (!found.ok) return found;
    const res = await api.call<{ id: string }>('DELETE', `/connections/${encodeURIComponent(found.connection.id)}`);
    return res.ok ? { ok: true, json: res.body, lines: [`deleted ${found.connection.id}`], notes: [] } : res;
  }
  return fail('invalid_input', 'Expected: kiln connections list | add s3 --name … --endpoint … | delete <name|id>');
}

/**
 * The connection a remote job names, as an id: `--connection`, else KILN_CONNECTION or
 * ITTYBIT_CONNECTION (Ittybit's order), else none, so the service uses the tenant's default. A
 * name is looked up; an id is kept.
 */
async function connectionId(api: ApiClient, cli: ParsedCli): Promise<{ ok: true; id?: string } | { ok: false; error: CliError }> {
  const named = namedConnection(cli.connection, process.env);
  if (!named) return { ok: true };
  const found = await findConnection(api, named.name);
  if (!found.ok) return { ok: false, error: { ...found.error, kind: 'invalid_input', message: `${named.from}: ${found.error.message}` } };
  return { ok: true, id: found.connection.id };
}

/** Why a job or task that ended without an output did: its own error, or the status it ended in (cancelled). */
function endedError(ended: { error: CliError | null; status: string }, what: 'job' | 'task'): CliError {
  return ended.error ?? { kind: 'processing_failed', message: `The ${what} ended ${ended.status}.` };
}

/** Waits for a job unless --async, then downloads its output to -o or prints its URL. A job that fails is named. */
async function finish(api: ApiClient, cli: ParsedCli, job: Job, signal: AbortSignal): Promise<CliOutcome> {
  if (cli.async) return { ok: true, json: job, lines: [jobLine(job)], notes: [] };
  const failed = { object: 'job', id: job.id } as const;
  const done = await follow(api, job, cli.json, signal);
  if (!('object' in done)) return { ok: false, error: done, failed };
  if (done.status !== 'succeeded' || !done.output) return { ok: false, error: endedError(done, 'job'), failed };
  const lines = [`${done.id} succeeded: ${describe(done.output)}`];
  const error = await download(done.kind, done.output.url, cli.output, signal);
  // The job succeeded: a download that fails is this machine's failure, not the job's.
  if (error) return { ok: false, error };
  lines.push(cli.output && !cli.output.startsWith('s3://') ? `wrote ${cli.output}` : done.output.url);
  return { ok: true, json: done, lines, notes: [] };
}

/** Saves an output at `url` to a local -o; nothing without -o or with an s3:// one (the service wrote it). */
async function download(kind: JobKind, url: string, output: string | undefined, signal: AbortSignal): Promise<CliError | null> {
  if (!output || output.startsWith('s3://')) return null;
  return writesFolder(kind) ? saveHls(url, output, signal) : saveOutput(url, output, signal);
}

/** A job's or task's input as the API takes it: a URL, s3:// key or file id as it is, a local file uploaded first. */
async function inputForApi(
  api: ApiClient,
  raw: string,
  signal: AbortSignal,
): Promise<{ ok: true; input: string } | { ok: false; error: CliError }> {
  if (/^(https?|s3):\/\//.test(raw) || raw.startsWith('file_')) return { ok: true, input: raw };
  if (!existsSync(raw)) return { ok: false, error: noSuchFile(raw) };
  const uploaded = await upload(api, raw, signal);
  return uploaded.ok ? { ok: true, input: uploaded.id } : uploaded;
}

type RemoteTask = Pick<Job, 'kind' | 'output' | 'error' | 'progress'> & { id: string; status: Job['status'] | 'waiting' };

/** Remote `kiln task`: POST /tasks with Ittybit's `{kind, input, options}`, then polls GET /tasks/{id}. */
async function runTask(api: ApiClient, cli: ParsedCli, signal: AbortSignal): Promise<CliOutcome> {
  const kind = cli.args[0] as TaskKindName;
  const parsed = taskInput(cli.input);
  if (!parsed.ok) return parsed;
  const connection = await connectionId(api, cli);
  if (!connection.ok) return connection;
  const parsedMetadata = parseMetadata(cli.metadata);
  if (!parsedMetadata.ok) return parsedMetadata;
  // A file on this machine goes up first, as for `kiln video -i clip.mov`: the service cannot read it here.
  const remoteInput = await inputForApi(api, parsed.url, signal);
  if (!remoteInput.ok) return remoteInput;
  const input = remoteInput.input === parsed.url ? parsed.input : { ...parsed.input, url: remoteInput.input };
  if (kind === 'import' && cli.output)
    return fail(
      'invalid_input',
      'kiln task import stores the file in Kiln (its URL is printed); to write it to S3 use kiln task export -o s3://…',
    );
  const options: Record<string, unknown> = { ...cli.options };
  if (kind === 'export') {
    if (!cli.output?.startsWith('s3://'))
      return fail('invalid_input', 'kiln task export needs -o s3://bucket/key: where to write the file');
    options.url = cli.output;
    delete options.format;
    if (connection.id) options.connection_id = connection.id;
  }
  const created = await api.call<RemoteTask>('POST', '/tasks', {
    kind,
    input,
    ...(Object.keys(options).length ? { options } : {}),
    ...(connection.id && kind !== 'export' ? { connection_id: connection.id } : {}),
    // An encode task writes to an s3:// -o itself, like `kiln video -o s3://…`; a local -o is downloaded after.
    ...(isEncodeKind(kind) && cli.output?.startsWith('s3://') ? { output: cli.output } : {}),
    ...(Object.keys(parsedMetadata.metadata).length ? { metadata: parsedMetadata.metadata } : {}),
    ...(cli.webhookUrl ? { webhook_url: cli.webhookUrl } : {}),
  });
  if (!created.ok) return { ok: false, error: { ...created.error, message: created.error.message.replace(/\boptions\.(\w+)/g, '--$1') } };
  if (cli.async) return { ok: true, json: created.body, lines: [taskLine(created.body)], notes: [] };
  const bar = cli.json ? progressBar({ isTTY: false } as NodeJS.WriteStream) : progressBar(process.stderr);
  let current = created.body;
  const failed = { object: 'task', id: current.id } as const;
  try {
    while (current.status === 'waiting' || current.status === 'queued' || current.status === 'processing') {
      await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
      if (signal.aborted)
        return { ok: false, error: { kind: 'cancelled', message: `Stopped waiting; task ${current.id} goes on.` }, failed };
      const next = await api.call<RemoteTask>('GET', `/tasks/${encodeURIComponent(current.id)}`);
      if (!next.ok) return { ...next, failed };
      current = next.body;
      bar.update(kind, current.progress ?? 0);
    }
  } finally {
    bar.done();
  }
  if (current.status !== 'succeeded') {
    return { ok: false, error: endedError(current, 'task'), failed };
  }
  const url = current.output?.url;
  if (url && isEncodeKind(kind)) {
    const error = await download(kind, url, cli.output, signal);
    if (error) return { ok: false, error };
  }
  const wrote = cli.output && !cli.output.startsWith('s3://') && isEncodeKind(kind);
  return { ok: true, json: current, lines: [taskLine(current), ...(wrote ? [`wrote ${cli.output}`] : url ? [url] : [])], notes: [] };
}

function taskLine(task: RemoteTask): string {
  const out = task.output
    ? ` → ${task.output.url ?? describe(task.output)}`
    : task.error
      ? ` (${task.error.kind}: ${task.error.message})`
      : '';
  return `${task.id}  ${task.kind.padEnd(14)} ${task.status.padEnd(10)}${out}`;
}

/**
 * Remote `kiln recipe`: the input uploaded when it is a local file, one POST /jobs/batch, then each
 * job followed to its end and its output saved where the recipe's targets say (cli/recipe.ts);
 * one line per output, exit code 1 when any failed.
 */
async function runRecipe(api: ApiClient, cli: ParsedCli, signal: AbortSignal): Promise<CliOutcome> {
  const read = await readRecipe(cli);
  if (!read.ok) return read;
  const { body, targets } = read.recipe;
  if (targets.some((t) => 'folder' in t && isS3Url(t.folder))) {
    const message = 'A recipe cannot name an s3:// folder remotely: give one -o s3://… per output, or "output": "s3://…" on each output';
    return { ok: false, error: { kind: 'invalid_input', message } };
  }
  const connection = await connectionId(api, cli);
  if (!connection.ok) return connection;
  const remoteInput = await inputForApi(api, body.input, signal);
  if (!remoteInput.ok) return remoteInput;
  const outputs = body.outputs.map((output, i) => {
    const target = targets[i]!;
    return 'path' in target && isS3Url(target.path) ? { ...output, output: target.path } : output;
  });
  const connectionField = body.connection_id ?? connection.id;
  const created = await api.call<Job[]>('POST', '/jobs/batch', {
    input: remoteInput.input,
    outputs,
    ...(connectionField ? { connection_id: connectionField } : {}),
  });
  if (!created.ok) return created;
  if (cli.async) return { ok: true, json: created.body, lines: created.body.map(jobLine), notes: [] };
  const lines: string[] = [];
  const json: unknown[] = [];
  let failed = 0;
  for (const [i, job] of created.body.entries()) {
    const done = await follow(api, job, cli.json, signal);
    if (!('object' in done)) {
      // Interrupted or the API stopped answering: the jobs run on, and each not yet followed is named so it can be found.
      for (const rest of created.body.slice(i)) {
        lines.push(`${rest.id} not followed to its end: ${done.kind}: ${done.message} (see it with: kiln jobs ${rest.id})`);
        json.push({ ok: false, id: rest.id, error: done });
      }
      return { ok: true, json, lines, notes: [], exitCode: done.kind === 'cancelled' ? 130 : 1 };
    }
    const target = targets[i]!;
    // Without -o the output stays in Kiln's storage and its URL is printed, as for one job.
    const extension = extname(new URL(done.output?.url ?? 'http://x/').pathname);
    const saveTo =
      'path' in target
        ? target.path
        : target.folder === undefined
          ? undefined
          : recipeOutputName(body.input, i, done.kind, extension, target.folder);
    const error =
      done.status !== 'succeeded' || !done.output ? endedError(done, 'job') : await download(done.kind, done.output.url, saveTo, signal);
    if (error) {
      failed++;
      lines.push(`${done.id} failed: ${error.kind}: ${error.message}`);
      json.push({ ok: false, job: done, error });
      continue;
    }
    lines.push(`${done.id} succeeded: ${saveTo && !isS3Url(saveTo) ? `wrote ${saveTo}` : done.output?.url} (${describe(done.output!)})`);
    json.push({ ok: true, job: done, ...(saveTo ? { output: saveTo } : {}) });
  }
  const notes = failed > 0 ? [`${failed} of ${created.body.length} outputs failed; the others succeeded.`] : [];
  return { ok: true, json, lines, notes, exitCode: failed > 0 ? 1 : 0 };
}

/**
 * Runs a CLI invocation against the API at `apiUrl`.
 *
 * @example
 * await runRemote(parseCli(['video', '-i', 'clip.mov', '-o', 'clip-hd.mp4', '--width', '1920']), url, key, signal);
 */
export async function runRemote(cli: ParsedCli, apiUrl: string, apiKey: string, signal: AbortSignal): Promise<CliOutcome> {
  const debug = cli.debug ? (line: string) => process.stderr.write(`${line}\n`) : undefined;
  const api = apiClient(apiUrl, apiKey, signal, debug);
  if (cli.command === 'jobs') return runJobs(api, cli, signal);
  if (cli.command === 'connections') return runConnections(api, cli);
  if (cli.command === 'task') return runTask(api, cli, signal);
  if (cli.command === 'recipe') return runRecipe(api, cli, signal);
  const kind = cli.command;
  if (!isEncodeKind(kind)) return fail('invalid_input', 'Missing command; see kiln --help');
  if (!cli.input) return fail('invalid_input', 'Missing -i <file, URL or s3://bucket/key>');
  const parsedMetadata = parseMetadata(cli.metadata);
  if (!parsedMetadata.ok) return parsedMetadata;
  const { metadata } = parsedMetadata;
  const connection = await connectionId(api, cli);
  if (!connection.ok) return connection;

  const remoteInput = await inputForApi(api, cli.input, signal);
  if (!remoteInput.ok) return remoteInput;
  const { input } = remoteInput;
  const toS3 = cli.output?.startsWith('s3://') ?? false;
  const created = await api.call<Job>('POST', '/jobs', {
    input,
    kind,
    options: cli.options,
    ...(toS3 ? { output: cli.output } : {}),
    ...(connection.id ? { connection_id: connection.id } : {}),
    ...(Object.keys(metadata).length ? { metadata } : {}),
    ...(cli.webhookUrl ? { webhook_url: cli.webhookUrl } : {}),
  });
  if (!created.ok) return { ok: false, error: { ...created.error, message: created.error.message.replace(/\boptions\.(\w+)/g, '--$1') } };
  return finish(api, cli, created.body, signal);
}
