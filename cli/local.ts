/**
 * Local mode: runs a job on this machine with the processor's own engine (ffmpeg, sharp), with
 * no server and no key (docs/api.md#cli).
 */

import { copyFile, cp, glob, mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { traceFfmpeg } from '../container/ffmpeg/index.ts';
import { type Limits, limitsFromEnv } from '../container/limits.ts';
import { probeFile } from '../container/probe/index.ts';
import { processTogether } from '../container/process/together.ts';
import type { CliError } from '../schemas/errors.ts';
import type { MediaInfo } from '../schemas/file.ts';
import { isPlaylistPath, writesFolder } from '../schemas/formats.ts';
import type { JobKind } from '../schemas/options.ts';
import { isEncodeKind, isGlob, type ParsedCli, type TaskKindName } from './args.ts';
import { type CliOutcome, describe, noSuchFile, taskInput } from './outcome.ts';
import { inFolder, inputName, isS3Url, isUrl } from './paths.ts';
import { progressBar } from './progress.ts';
import { readRecipe, recipeOutputName } from './recipe.ts';
import type { S3Credentials } from './s3.ts';

/** CLI users type `--width`, not `options.width`. */
function forCli(error: CliError): CliError {
  return { ...error, message: error.message.replace(/\boptions\.(\w+)/g, '--$1') };
}

async function copyOutput(kind: JobKind, produced: string, target: string): Promise<string> {
  // Only reached for an s3:// target without credentials, which resolving them first rules out: never a folder named `s3:`.
  if (isS3Url(target)) throw new Error(`${target} is on S3 and no S3 credentials were found`);
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

type Fetched = { ok: true; path: string } | { ok: false; error: CliError };

/** A local path as it is; an http(s) URL or an s3:// object (through `credentials`) downloaded into `scratch`. */
async function fetchInput(
  input: string,
  scratch: string,
  limits: Limits,
  signal: AbortSignal,
  credentials: S3Credentials | undefined,
): Promise<Fetched> {
  if (credentials && isS3Url(input)) return (await import('./s3.ts')).getObject(credentials, input, scratch, limits.maxInputBytes, signal);
  if (!isUrl(input)) return (await stat(input).catch(() => null)) ? { ok: true, path: input } : { ok: false, error: noSuchFile(input) };
  return (await import('./download.ts')).download(input, scratch, limits.maxInputBytes, signal);
}

/**
 * The S3 credentials a run needs when its input or output is s3://, resolved before any work so
 * missing credentials never cost an encode; none when nothing is on S3.
 */
async function s3CredentialsFor(
  cli: ParsedCli,
  ...paths: (string | undefined)[]
): Promise<{ ok: true; credentials: S3Credentials | undefined } | { ok: false; error: CliError }> {
  if (!paths.some((path) => isS3Url(path))) return { ok: true, credentials: undefined };
  return (await import('./s3.ts')).resolveCredentials(cli.connection, process.env);
}

async function withScratch<T>(run: (scratch: string) => Promise<T>): Promise<T> {
  const scratch = await mkdtemp(join(tmpdir(), 'kiln-cli-'));
  try {
    return await run(scratch);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

type Failed = { ok: false; error: CliError };

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
  | { ok: false; error: CliError };

/**
 * One output of an input: its options, and where it goes: a path or s3:// key, or a name made from
 * the extension the engine chose (the default name; a batch's folder).
 */
interface Target {
  kind: JobKind;
  output: string | ((extension: string) => string);
  options: Record<string, unknown>;
}

/**
 * Fetches `input` (a path, http(s) URL or s3:// object) once, encodes each of `targets` from it and
 * writes each where its target says. A failure to fetch fails every target.
 */
async function encodeLocal(
  input: string,
  targets: Target[],
  cli: ParsedCli,
  signal: AbortSignal,
  showProgress: boolean,
): Promise<Encoded[]> {
  const limits: Limits = limitsFromEnv(process.env);
  // A named output (a batch's, a recipe's) is in an s3:// folder when its name is, whatever its extension.
  const s3 = await s3CredentialsFor(cli, input, ...targets.map((t) => (typeof t.output === 'string' ? t.output : t.output(''))));
  if (!s3.ok) return targets.map(() => s3);
  const bar = showProgress && !cli.json ? progressBar(process.stderr) : progressBar({ isTTY: false } as NodeJS.WriteStream);
  try {
    return await withScratch(async (scratch) => {
      if (isUrl(input) || isS3Url(input)) bar.update('fetch', 0);
      const fetched = await fetchInput(input, scratch, limits, signal, s3.credentials);
      if (!fetched.ok) return targets.map(() => fetched);
      // Several outputs come from one decode where they can (the processor's one-pass engine).
      const results = await processTogether({
        inputPath: fetched.path,
        dir: scratch,
        outputs: targets.map((target) => ({ kind: target.kind, options: target.options })),
        limits,
        signal,
        onProgress: (stage, percent) => bar.update(stage, percent),
      });
      bar.done();
      const encoded: Encoded[] = [];
      for (const [i, result] of results.entries()) {
        const target = targets[i]!;
        if (!result.ok) {
          encoded.push({ ok: false, error: forCli(result.error) });
          continue;
        }
        const output = typeof target.output === 'string' ? target.output : target.output(extname(result.output.path));
        if (s3.credentials && isS3Url(output)) {
          const produced = { path: result.output.path, contentType: result.output.info.type, folder: writesFolder(target.kind) };
          const put = await (await import('./s3.ts')).putOutput(s3.credentials, produced, output, signal);
          encoded.push(
            put.ok
              ? { ok: true, input: result.input, output: { ...result.output.info, url: put.url }, written: put.url, notes: result.notes }
              : put,
          );
          continue;
        }
        // A folder where the file should go, a full disk: that output fails alone.
        const written = await copyOutput(target.kind, result.output.path, output).catch((err: unknown) => err as Error);
        if (written instanceof Error) {
          encoded.push({ ok: false, error: { kind: 'output_write_failed', message: `Could not write ${output}: ${written.message}` } });
          continue;
        }
        encoded.push({
          ok: true,
          input: result.input,
          output: { ...result.output.info, path: resolve(written) },
          written,
          notes: result.notes,
        });
      }
      return encoded;
    });
  } finally {
    bar.done();
  }
}

/** Where a batch writes `input`'s output: `<folder>/<input name>.<ext>` (s3:// folders too). */
function batchOutput(kind: JobKind, input: string, folder: string): (extension: string) => string {
  return (extension) => {
    if (isS3Url(folder)) return inFolder(folder, defaultOutput(kind, input, extension, '/'));
    const local = isUrl(input) || isS3Url(input) ? input : resolve(input);
    return inFolder(folder, defaultOutput(kind, local, extension, resolve(folder)));
  };
}

/** The batch's inputs with each pattern replaced by the files it matches, sorted; a pattern matching nothing is an error. */
async function expandInputs(inputs: string[]): Promise<{ ok: true; inputs: string[] } | Failed> {
  const expanded: string[] = [];
  for (const input of inputs) {
    if (!isGlob(input) || (await stat(input).catch(() => null))) {
      expanded.push(input);
      continue;
    }
    const matches: string[] = [];
    for await (const match of glob(input)) matches.push(match);
    if (matches.length === 0) return { ok: false, error: { kind: 'invalid_input', message: `No file matches -i ${input}` } };
    expanded.push(...matches.sort());
  }
  return { ok: true, inputs: expanded };
}

/** One line of a batch or multi-output run, as JSON and as text. */
function resultLine(source: string, target: string | undefined, encoded: Encoded): { json: unknown; text: string } {
  if (!encoded.ok) {
    const json = { ok: false, source, ...(target ? { output: target } : {}), error: encoded.error };
    return { json, text: `${source}${target ? ` → ${target}` : ''}: ${encoded.error.kind}: ${encoded.error.message}` };
  }
  return {
    json: { ok: true, source, input: encoded.input, output: encoded.output, notes: encoded.notes },
    text: `wrote ${encoded.written} (${describe(encoded.output)})`,
  };
}

/**
 * `kiln <kind> -i a b c -o folder`: each input encoded on its own, `cli.concurrency` at a time (one
 * per core by default), one line printed per output as it finishes; a failed input is reported
 * and the rest go on. Also one input's several -o: one engine call, one line per output.
 */
async function runMany(kind: JobKind, cli: ParsedCli, signal: AbortSignal): Promise<CliOutcome> {
  const expanded = await expandInputs(cli.inputs);
  if (!expanded.ok) return expanded;
  const { inputs } = expanded;
  const jobs: { input: string; targets: Target[] }[] = cli.batch
    ? batchJobs(kind, inputs, cli)
    : [{ input: inputs[0]!, targets: cli.outputs.map((output, i) => ({ kind, output, options: optionsFor(cli, i) })) }];
  const seen = new Map<string, string>();
  if (cli.batch) {
    for (const { input } of jobs) {
      const other = seen.get(inputName(input));
      if (other !== undefined) {
        const message = `Two inputs would write the same output, ${other} and ${input}: rename one or run them apart`;
        return { ok: false, error: { kind: 'invalid_input', message } };
      }
      seen.set(inputName(input), input);
    }
  }
  if (cli.batch && cli.output && !isS3Url(cli.output)) await mkdir(cli.output, { recursive: true });
  return runTargets(jobs, cli, signal);
}

/**
 * Encodes each input's targets (inputs `cli.concurrency` at a time, one per core by default),
 * printing one line per output as it finishes; a failed input is reported and the rest go on.
 */
async function runTargets(jobs: { input: string; targets: Target[] }[], cli: ParsedCli, signal: AbortSignal): Promise<CliOutcome> {
  let failed = 0;
  const print = (line: { json: unknown; text: string }, ok: boolean) => {
    if (cli.json) process.stdout.write(`${JSON.stringify(line.json)}\n`);
    else (ok ? process.stdout : process.stderr).write(`${line.text}\n`);
  };
  const queue = [...jobs];
  const workers = Math.min(queue.length, cli.concurrency ?? availableParallelism());
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let job = queue.shift(); job && !signal.aborted; job = queue.shift()) {
        // One input's failure, however it happens (a folder where its output goes, a full disk),
        // is its own line: the other inputs still run.
        const results = await encodeLocal(job.input, job.targets, cli, signal, false).catch((err: unknown) =>
          job.targets.map(
            (): Encoded => ({
              ok: false,
              error: { kind: 'output_write_failed', message: err instanceof Error ? err.message : String(err) },
            }),
          ),
        );
        for (const [i, encoded] of results.entries()) {
          const target = job.targets[i]!.output;
          if (!encoded.ok) failed++;
          print(resultLine(job.input, typeof target === 'string' ? target : undefined, encoded), encoded.ok);
        }
      }
    }),
  );
  if (signal.aborted) return { ok: false, error: { kind: 'cancelled', message: 'Interrupted; outputs already written are kept' } };
  const total = jobs.reduce((n, job) => n + job.targets.length, 0);
  const notes = failed > 0 ? [`${failed} of ${total} outputs failed; the others were written.`] : [];
  return { ok: true, json: [], lines: [], notes, exitCode: failed > 0 ? 1 : 0 };
}

/**
 * `kiln recipe` here: every output of the recipe from one fetch and one pass over the input (see
 * cli/recipe.ts for how -o names them), one line per output.
 */
async function runRecipe(cli: ParsedCli, signal: AbortSignal): Promise<CliOutcome> {
  const read = await readRecipe(cli);
  if (!read.ok) return read;
  const { body, targets } = read.recipe;
  const job = {
    input: body.input,
    targets: body.outputs.map((output, i): Target => {
      const target = targets[i]!;
      const options = output.options ?? {};
      if ('path' in target) return { kind: output.kind, options, output: target.path };
      const { folder } = target;
      return { kind: output.kind, options, output: (extension) => recipeOutputName(body.input, i, output.kind, extension, folder) };
    }),
  };
  const outcome = await runTargets([job], cli, signal);
  const remoteOnly = body.connection_id !== undefined || body.outputs.some((o) => o.metadata !== undefined || o.webhook_url !== undefined);
  if (!outcome.ok || !remoteOnly) return outcome;
  return { ...outcome, notes: [...outcome.notes, 'metadata, webhook_url and connection_id apply to remote jobs; ignored here.'] };
}

function batchJobs(kind: JobKind, inputs: string[], cli: ParsedCli): { input: string; targets: Target[] }[] {
  const folder = cli.output ?? '.';
  return inputs.map((input) => ({ input, targets: [{ kind, output: batchOutput(kind, input, folder), options: cli.options }] }));
}

/** The options for the i-th -o: the shared ones, with the format its own extension implies. */
function optionsFor(cli: ParsedCli, i: number): Record<string, unknown> {
  const format = cli.outputFormats[i];
  return format === undefined || cli.flags.format !== undefined ? cli.options : { ...cli.options, format };
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
    const put = await (await import('./s3.ts')).putOutput(credentials!, { path, contentType: info.type, folder: false }, target, signal);
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
      const fetched = await (await import('./download.ts')).download(url, scratch, limits.maxInputBytes, signal);
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
  const output = cli.output ?? ((extension: string) => defaultOutput(kind, url, extension, process.cwd()));
  const [encoded] = await encodeLocal(url, [{ kind, output, options: cli.options }], cli, signal, true);
  if (!encoded?.ok) return encoded ?? { ok: false, error: { kind: 'internal_error', message: 'The engine returned no output' } };
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
  if (cli.command === 'recipe') return runRecipe(cli, signal);
  if (!cli.input) return { ok: false, error: { kind: 'invalid_input', message: 'Missing -i <file or URL>' } };
  if (cli.command === 'probe') {
    const probe = await probeLocal(cli.input, cli, signal);
    if (!probe.ok) return probe;
    const lines = Object.entries(probe.info).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
    return { ok: true, json: probe.info, lines, notes: [] };
  }
  const kind = cli.command;
  if (!isEncodeKind(kind)) return { ok: false, error: { kind: 'invalid_input', message: 'Missing command; see kiln --help' } };
  if (cli.batch || cli.outputs.length > 1) return runMany(kind, cli, signal);
  const input = cli.input;
  const output = cli.output ?? ((extension: string) => defaultOutput(kind, input, extension, process.cwd()));
  const [encoded] = await encodeLocal(input, [{ kind, output, options: cli.options }], cli, signal, true);
  if (!encoded?.ok) return encoded ?? { ok: false, error: { kind: 'internal_error', message: 'The engine returned no output' } };
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
