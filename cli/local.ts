/**
 * Local mode: runs a job on this machine with the processor's own engine (ffmpeg, sharp), with
 * no server and no key (docs/api.md#cli).
 */

import { copyFile, cp, mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { traceFfmpeg } from '../container/ffmpeg/index.ts';
import { type Limits, limitsFromEnv } from '../container/limits.ts';
import { probeFile } from '../container/probe/index.ts';
import { processMedia } from '../container/process/index.ts';
import type { ErrorBody } from '../schemas/errors.ts';
import type { MediaInfo } from '../schemas/file.ts';
import { isPlaylistPath, writesFolder } from '../schemas/formats.ts';
import type { JobKind } from '../schemas/options.ts';
import { isEncodeKind, type ParsedCli, type TaskKindName } from './args.ts';
import { download, isUrl } from './download.ts';
import { type CliOutcome, describe, taskInput } from './outcome.ts';
import { progressBar } from './progress.ts';
import { getObject, isS3Url, putOutput, resolveCredentials, type S3Credentials } from './s3.ts';

/** CLI users type `--width`, not `options.width`. */
function forCli(error: ErrorBody): ErrorBody {
  return { ...error, message: error.message.replace(/\boptions\.(\w+)/g, '--$1') };
}

async function copyOutput(kind: JobKind, produced: string, target: string): Promise<string> {
  if (writesFolder(kind)) {
    // A folder output: -o names the folder, or the master playlist inside it.
    const isPlaylist = isPlaylistPath(target);
    const dir = isPlaylist ? dirname(target) : target;
    await mkdir(dir, { recursive: true });
    await cp(dirname(produced), dir, { recursive: true });
    if (isPlaylist && basename(target) !== basename(produced)) await rename(join(dir, basename(produced)), target);
    return isPlaylist ? target : join(dir, basename(produced));
  }
  await mkdir(dirname(resolve(target)), { recursive: true });
  await copyFile(produced, target);
  return target;
}

/** A URL path with its escapes decoded, or as it is when one is malformed (`%E0`): a file name is no reason to fail. */
function decodedPath(pathname: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return pathname;
  }
}

/** The name part of an input path or URL, without folders or extension; `output` when there is none. */
function inputName(input: string): string {
  const path = isUrl(input) ? decodedPath(new URL(input).pathname) : input;
  const name = basename(path, extname(path)).replace(/[^\p{L}\p{N}._ -]/gu, '_');
  return name || 'output';
}

const KIND_LABEL: Record<JobKind, string> = {
  video: 'video',
  image: 'image',
  audio: 'audio',
  animation: 'animation',
  adaptive_video: 'hls',
};

/**
 * Where local mode writes when there is no -o: `<input name>.<ext>` in the current folder, or
 * `<name>-<kind>.<ext>` when that is the input itself; an HLS folder is always `<name>-hls`.
 *
 * @example
 * defaultOutput('video', 'https://example.com/uploads/clip.mov', '.mp4', '/home/me'); // 'clip.mp4'
 * defaultOutput('video', 'clip.mp4', '.mp4', '/home/me'); // 'clip-video.mp4'
 */
export function defaultOutput(kind: JobKind, input: string, extension: string, cwd: string): string {
  const name = inputName(input);
  if (writesFolder(kind)) return `${name}-${KIND_LABEL[kind]}`;
  const plain = `${name}${extension}`;
  const overwritesInput = !isUrl(input) && resolve(cwd, plain) === resolve(cwd, input);
  return overwritesInput ? `${name}-${KIND_LABEL[kind]}${extension}` : plain;
}

type Fetched = { ok: true; path: string } | { ok: false; error: ErrorBody };

/** A local path as it is; an http(s) URL or an s3:// object (through `credentials`) downloaded into `scratch`. */
async function fetchInput(
  input: string,
  scratch: string,
  limits: Limits,
  signal: AbortSignal,
  credentials: S3Credentials | undefined,
): Promise<Fetched> {
  if (credentials && isS3Url(input)) return getObject(credentials, input, scratch, limits.maxInputBytes, signal);
  if (!isUrl(input)) return { ok: true, path: input };
  return download(input, scratch, limits.maxInputBytes, signal);
}

/**
 * The S3 credentials a run needs when its input or output is s3://, resolved before any work so
 * missing credentials never cost an encode; none when nothing is on S3.
 */
async function s3CredentialsFor(
  cli: ParsedCli,
  ...paths: (string | undefined)[]
): Promise<{ ok: true; credentials: S3Credentials | undefined } | { ok: false; error: ErrorBody }> {
  if (!paths.some((path) => isS3Url(path))) return { ok: true, credentials: undefined };
  return resolveCredentials(cli.connection, process.env);
}

async function withScratch<T>(run: (scratch: string) => Promise<T>): Promise<T> {
  const scratch = await mkdtemp(join(tmpdir(), 'kiln-cli-'));
  try {
    return await run(scratch);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

type Failed = { ok: false; error: ErrorBody };

/**
 * Fetches `input` into a scratch folder, probes it, and hands both to `use` before the folder goes.
 * `target` is where `use` may write: S3 credentials are resolved when either is s3://.
 */
async function withProbedInput<T>(
  input: string,
  target: string | undefined,
  cli: ParsedCli,
  signal: AbortSignal,
  use: (file: { path: string; info: MediaInfo; credentials: S3Credentials | undefined }) => Promise<T | Failed>,
): Promise<T | Failed> {
  const limits = limitsFromEnv(process.env);
  const s3 = await s3CredentialsFor(cli, input, target);
  if (!s3.ok) return s3;
  return withScratch(async (scratch) => {
    const fetched = await fetchInput(input, scratch, limits, signal, s3.credentials);
    if (!fetched.ok) return fetched;
    const probe = await probeFile(fetched.path, limits, signal);
    if (!probe.ok) return probe;
    return use({ path: fetched.path, info: probe.info, credentials: s3.credentials });
  });
}

function probeLocal(input: string, cli: ParsedCli, signal: AbortSignal): Promise<{ ok: true; info: MediaInfo } | Failed> {
  return withProbedInput(input, undefined, cli, signal, async ({ info }) => ({ ok: true as const, info }));
}

type Encoded =
  | { ok: true; input: MediaInfo; output: MediaInfo & ({ path: string } | { url: string }); written: string; notes: string[] }
  | { ok: false; error: ErrorBody };

/** Runs one encode of `input` (a path, http(s) URL or s3:// object) and writes the result to `output` (a path or s3://) or the default name. */
async function encodeLocal(
  kind: JobKind,
  input: string,
  output: string | undefined,
  cli: ParsedCli,
  signal: AbortSignal,
): Promise<Encoded> {
  const limits: Limits = limitsFromEnv(process.env);
  const s3 = await s3CredentialsFor(cli, input, output);
  if (!s3.ok) return s3;
  const bar = cli.json ? progressBar({ isTTY: false } as NodeJS.WriteStream) : progressBar(process.stderr);
  try {
    return await withScratch(async (scratch) => {
      if (isUrl(input) || isS3Url(input)) bar.update('fetch', 0);
      const fetched = await fetchInput(input, scratch, limits, signal, s3.credentials);
      if (!fetched.ok) return fetched;
      const workDir = join(scratch, 'work');
      await mkdir(workDir);
      const result = await processMedia({
        kind,
        options: cli.options,
        inputPath: fetched.path,
        workDir,
        limits,
        signal,
        onProgress: (stage, percent) => bar.update(stage, percent),
      });
      bar.done();
      if (!result.ok) return { ok: false, error: forCli(result.error) };
      if (s3.credentials && isS3Url(output)) {
        const produced = { path: result.output.path, contentType: result.output.info.type, folder: writesFolder(kind) };
        const put = await putOutput(s3.credentials, produced, output, signal);
        if (!put.ok) return put;
        return { ok: true, input: result.input, output: { ...result.output.info, url: put.url }, written: put.url, notes: result.notes };
      }
      const target = output ?? defaultOutput(kind, input, extname(result.output.path), process.cwd());
      const written = await copyOutput(kind, result.output.path, target);
      return { ok: true, input: result.input, output: { ...result.output.info, path: resolve(written) }, written, notes: result.notes };
    });
  } finally {
    bar.done();
  }
}

/**
 * Local `kiln task export`: the file's bytes, unchanged, to an s3:// key, after the same probe the
 * processor's copy makes (so a non-media file is refused, not exported).
 */
async function exportLocal(
  input: string,
  target: string,
  cli: ParsedCli,
  signal: AbortSignal,
  done: (written: string, info: MediaInfo) => CliOutcome,
): Promise<CliOutcome> {
  return withProbedInput<CliOutcome>(input, target, cli, signal, async ({ path, info, credentials }) => {
    // `target` is s3://, so credentials were resolved (or the run already failed saying what to set).
    const put = await putOutput(credentials!, { path, contentType: info.type, folder: false }, target, signal);
    return put.ok ? done(put.url, info) : put;
  });
}

/** Local `kiln task`: probe, the encode kinds and export (to s3://) run here, import downloads here. */
async function runLocalTask(cli: ParsedCli, signal: AbortSignal): Promise<CliOutcome> {
  const kind = cli.args[0] as TaskKindName;
  const parsed = taskInput(cli.input);
  if (!parsed.ok) return parsed;
  const { input, url } = parsed;
  const done = (output: unknown, line: string, notes: string[] = []): CliOutcome => ({
    ok: true,
    json: { object: 'task', kind, status: 'succeeded', input, options: cli.options, output },
    lines: [line],
    notes,
  });
  if (kind === 'probe') {
    const probe = await probeLocal(url, cli, signal);
    if (!probe.ok) return probe;
    // The url goes on the output so it can be fed straight to an encode task's -i.
    return done({ ...probe.info, url }, `${url}: ${describe(probe.info)}`);
  }
  if (kind === 'import') {
    if (isS3Url(cli.output)) {
      const message = `kiln task import copies a file to this machine; to write it to S3 use kiln task export -o ${cli.output}`;
      return { ok: false, error: { kind: 'invalid_input', message } };
    }
    if (!isUrl(url)) {
      return {
        ok: false,
        error: { kind: 'invalid_input', message: `Expected -i.url to be an http(s) URL to import; "${url}" is already on this machine` },
      };
    }
    const limits = limitsFromEnv(process.env);
    return withScratch(async (scratch) => {
      const fetched = await download(url, scratch, limits.maxInputBytes, signal);
      if (!fetched.ok) return fetched;
      const target = cli.output ?? `${inputName(url)}${extname(new URL(url).pathname)}`;
      await mkdir(dirname(resolve(target)), { recursive: true });
      await copyFile(fetched.path, target);
      const { size } = await stat(target);
      return done({ url: target, path: resolve(target), filesize: size }, `wrote ${target} (${size} bytes)`);
    });
  }
  if (kind === 'export') {
    const target = cli.output ?? (typeof cli.options.url === 'string' ? cli.options.url : undefined);
    if (!isS3Url(target)) {
      const message = 'kiln task export writes to S3: pass -o s3://bucket/key (and --connection, or the AWS environment variables).';
      return { ok: false, error: { kind: 'invalid_input', message } };
    }
    return exportLocal(url, target, cli, signal, (written, info) =>
      done({ ...info, url: written }, `wrote ${written} (${describe(info)})`),
    );
  }
  const encoded = await encodeLocal(kind, url, cli.output, cli, signal);
  if (!encoded.ok) return encoded;
  return done(encoded.output, `wrote ${encoded.written} (${describe(encoded.output)})`, encoded.notes);
}

/**
 * Runs a parsed CLI invocation locally and returns what to print.
 *
 * @example
 * const outcome = await runLocal(parseCli(['probe', '-i', 'clip.mov']), new AbortController().signal);
 */
export async function runLocal(cli: ParsedCli, signal: AbortSignal): Promise<CliOutcome> {
  if (cli.command === 'jobs' || cli.command === 'connections') {
    const message = `kiln ${cli.command} talks to the API: set KILN_API_URL and KILN_API_KEY (or --api-url and --api-key)`;
    return { ok: false, error: { kind: 'invalid_input', message } };
  }
  if (cli.debug) traceFfmpeg((line) => process.stderr.write(`${line}\n`));
  if (cli.command === 'task') return runLocalTask(cli, signal);
  if (!cli.input) return { ok: false, error: { kind: 'invalid_input', message: 'Missing -i <file or URL>' } };
  if (cli.command === 'probe') {
    const probe = await probeLocal(cli.input, cli, signal);
    if (!probe.ok) return probe;
    const lines = Object.entries(probe.info).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
    return { ok: true, json: probe.info, lines, notes: [] };
  }
  const kind = cli.command;
  if (!isEncodeKind(kind)) return { ok: false, error: { kind: 'invalid_input', message: 'Missing command; see kiln --help' } };
  const encoded = await encodeLocal(kind, cli.input, cli.output, cli, signal);
  if (!encoded.ok) return encoded;
  const extra: string[] = [];
  if (cli.metadata.length > 0 || cli.webhookUrl || cli.async)
    extra.push('--metadata, --webhook-url and --async only apply to remote jobs; ignored.');
  return {
    ok: true,
    json: { ok: true, input: encoded.input, output: encoded.output, notes: encoded.notes },
    lines: [`wrote ${encoded.written} (${describe(encoded.output)})`],
    notes: [...encoded.notes, ...extra],
  };
}
