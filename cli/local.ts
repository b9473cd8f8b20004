/**
 * Local mode: runs a job on this machine with the processor's own engine (ffmpeg, sharp), with
 * no server and no key (docs/api.md#cli).
 */

import { copyFile, cp, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { type Limits, limitsFromEnv } from '../container/limits.ts';
import { probeFile } from '../container/probe/index.ts';
import { processMedia } from '../container/process/index.ts';
import type { ErrorBody } from '../schemas/errors.ts';
import type { MediaInfo } from '../schemas/file.ts';
import { PLAYLIST_EXTENSION, writesFolder } from '../schemas/formats.ts';
import type { JobKind } from '../schemas/options.ts';
import type { ParsedCli } from './args.ts';
import { download, isUrl } from './download.ts';
import { progressBar } from './progress.ts';
import { getObject, isS3Url, putOutput, resolveCredentials, type S3Credentials } from './s3.ts';

export type CliOutcome = { ok: true; json: unknown; lines: string[]; notes: string[] } | { ok: false; error: ErrorBody };

/** CLI users type `--width`, not `options.width`. */
function forCli(error: ErrorBody): ErrorBody {
  return { ...error, message: error.message.replace(/\boptions\.(\w+)/g, '--$1') };
}

function size(bytes: number): string {
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${bytes} B`;
}

/** One-line human summary of a file. */
export function describe(info: MediaInfo): string {
  const parts: string[] = [info.kind, info.format];
  if (info.width && info.height) parts.push(`${info.width}×${info.height}`);
  if (info.duration) parts.push(`${info.duration.toFixed(1)} s`);
  const codecs = [info.codecs.video, info.codecs.audio].filter(Boolean).join('+');
  if (codecs) parts.push(codecs);
  parts.push(size(info.filesize));
  return parts.join(', ');
}

async function copyOutput(kind: JobKind, produced: string, target: string): Promise<string> {
  if (writesFolder(kind)) {
    // A folder output: -o names the folder, or the master playlist inside it.
    const isPlaylist = extname(target).toLowerCase() === `.${PLAYLIST_EXTENSION}`;
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

/**
 * Runs a parsed CLI invocation locally and returns what to print.
 *
 * @example
 * const outcome = await runLocal(parseCli(['probe', '-i', 'clip.mov']), new AbortController().signal);
 */
export async function runLocal(cli: ParsedCli, signal: AbortSignal): Promise<CliOutcome> {
  if (cli.command === 'jobs' || cli.command === 'connections') {
    const message = `kiln ${cli.command} talks to the API: set KILN_API_URL and KILN_API_KEY (or --api_url and --api_key)`;
    return { ok: false, error: { kind: 'invalid_input', message } };
  }
  if (!cli.input) return { ok: false, error: { kind: 'invalid_input', message: 'Missing -i <file or URL>' } };
  if (cli.command !== 'probe' && !cli.output) return { ok: false, error: { kind: 'invalid_input', message: 'Missing -o <output file>' } };
  let credentials: S3Credentials | undefined;
  // Resolved before any work, so missing credentials never cost an encode.
  if (isS3Url(cli.input) || isS3Url(cli.output)) {
    const resolved = await resolveCredentials(cli.connection, process.env);
    if (!resolved.ok) return resolved;
    credentials = resolved.credentials;
  }
  const limits: Limits = limitsFromEnv(process.env);
  const scratch = await mkdtemp(join(tmpdir(), 'kiln-cli-'));
  const bar = cli.json ? progressBar({ isTTY: false } as NodeJS.WriteStream) : progressBar(process.stderr);
  try {
    let inputPath = cli.input;
    if (isUrl(cli.input)) {
      bar.update('fetch', 0);
      const fetched = await download(cli.input, scratch, limits.maxInputBytes, signal);
      if (!fetched.ok) return fetched;
      inputPath = fetched.path;
    } else if (credentials && isS3Url(cli.input)) {
      bar.update('fetch', 0);
      const fetched = await getObject(credentials, cli.input, scratch, limits.maxInputBytes, signal);
      if (!fetched.ok) return fetched;
      inputPath = fetched.path;
    }
    if (cli.command === 'probe') {
      const probe = await probeFile(inputPath, limits, signal);
      if (!probe.ok) return probe;
      const lines = Object.entries(probe.info).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
      return { ok: true, json: probe.info, lines, notes: [] };
    }
    const kind = cli.command;
    if (!kind) return { ok: false, error: { kind: 'invalid_input', message: 'Missing command; see kiln --help' } };
    const workDir = join(scratch, 'work');
    await mkdir(workDir);
    const result = await processMedia({
      kind,
      options: cli.options,
      inputPath,
      workDir,
      limits,
      signal,
      onProgress: (stage, percent) => bar.update(stage, percent),
    });
    bar.done();
    if (!result.ok) return { ok: false, error: forCli(result.error) };
    let written: string;
    let where: { path: string } | { url: string };
    if (credentials && isS3Url(cli.output)) {
      const produced = { path: result.output.path, contentType: result.output.info.type, folder: writesFolder(kind) };
      const put = await putOutput(credentials, produced, cli.output, signal);
      if (!put.ok) return put;
      written = put.url;
      where = { url: put.url };
    } else {
      written = await copyOutput(kind, result.output.path, cli.output!);
      where = { path: resolve(written) };
    }
    const extra: string[] = [];
    if (cli.metadata.length > 0 || cli.webhookUrl || cli.async)
      extra.push('--metadata, --webhook_url and --async only apply to remote jobs; ignored.');
    return {
      ok: true,
      json: { ok: true, input: result.input, output: { ...result.output.info, ...where }, notes: result.notes },
      lines: [`wrote ${written} (${describe(result.output.info)})`],
      notes: [...result.notes, ...extra],
    };
  } finally {
    bar.done();
    await rm(scratch, { recursive: true, force: true });
  }
}
