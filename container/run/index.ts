import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { type ErrorBody, runNotWantedError } from '../../schemas/errors.ts';
import type { JobKind } from '../../schemas/options.ts';
import { FreshUrls, type ProcessorEvent, type ProcessorTask, type RunKind, type TaskStage } from '../../schemas/processor.ts';
import { type Limits, timeLimitError } from '../limits.ts';
import { downloadToFile, uploadFile } from '../net/transfer.ts';
import { type EncodedOutput, processMedia } from '../process/index.ts';
import { isStandalone, probeInput, standaloneOptionsError } from '../process/standalone.ts';
import { uploadFolder } from './folder-upload.ts';
import { CALLBACK_TIMEOUT_MS, createReporter, type Reporter } from './reporter.ts';

export interface RunContext {
  limits: Limits;
  /** Development only: lets inputs and outputs live on loopback (wrangler's local R2). */
  allowLoopback: boolean;
  tmpRoot: string;
  fetcher?: typeof fetch;
  /** Resolves once this run may use the CPU (heartbeats go on meanwhile): how to give the slot back, and whether it had to wait. */
  waitForSlot?: () => Promise<{ release: () => void; waited: boolean }>;
  /**
   * Aborts when the processor is stopping (SIGTERM from the platform, Ctrl-C in development): the
   * run stops its ffmpeg, deletes its files and gives its job back to the Worker, which queues it
   * again at once instead of waiting for the heartbeat watchdog.
   */
  shutdown?: AbortSignal;
}

/** The abort reason of a processor that is stopping: a run stopped by it is given back, not failed. */
export class ShutdownError extends Error {
  override name = 'ShutdownError';
}

/** The ShutdownError a stopping processor was stopped with. */
function shutdownReason(shutdown: AbortSignal | undefined): ShutdownError {
  return shutdown?.reason instanceof ShutdownError ? shutdown.reason : new ShutdownError('The processor is stopping.');
}

/** What the Worker's event log says about a run a stopping processor gave back. */
export function givenBackReason(ctx: RunContext): string {
  return shutdownReason(ctx.shutdown).message;
}

/**
 * Waits for a run slot, unless the processor stops first (null: the run gives its job back
 * without starting). A slot that frees up after that is handed on at once.
 */
export async function slotOrShutdown(ctx: RunContext): Promise<{ release: () => void; waited: boolean } | null> {
  const slot = ctx.waitForSlot?.() ?? Promise.resolve({ release: () => {}, waited: false });
  const { shutdown } = ctx;
  if (!shutdown) return slot;
  if (shutdown.aborted) {
    void slot.then((s) => s.release());
    return null;
  }
  let onAbort = () => {};
  const stopped = new Promise<null>((resolve) => {
    onAbort = () => resolve(null);
    shutdown.addEventListener('abort', onAbort, { once: true });
  });
  const first = await Promise.race([slot, stopped]);
  shutdown.removeEventListener('abort', onAbort);
  if (first === null) void slot.then((s) => s.release());
  return first;
}

/**
 * Links a run's abort to the processor's shutdown; returns the unlink, for the run's end (a
 * processor that never stops would otherwise keep one listener per run it ever ran).
 */
export function abortOnShutdown(ctx: RunContext, abort: AbortController): () => void {
  const { shutdown } = ctx;
  if (!shutdown) return () => {};
  const onAbort = () => abort.abort(shutdownReason(shutdown));
  if (shutdown.aborted) onAbort();
  else shutdown.addEventListener('abort', onAbort, { once: true });
  return () => shutdown.removeEventListener('abort', onAbort);
}

/** The abort reason of the processing time limit: every stage reports an abort as `cancelled`, and this tells the two apart. */
export class TimeLimitError extends Error {
  override name = 'TimeLimitError';
}

/** What a job hears when its run crashed: the processor lives on, and the job is told to retry. */
export const CRASH_ERROR: ErrorBody = {
  kind: 'processing_failed',
  message: 'The processor hit an unexpected error (for example, its disk is full); retry the job, and report it if it persists.',
};

/** A reporter that remembers the stage it last reported, so a crash is reported in the stage the run had reached. */
export interface TrackedReporter extends Reporter {
  readonly stage: TaskStage;
}

export function trackedReporter(task: ProcessorTask, abort: AbortController, fetcher?: typeof fetch): TrackedReporter {
  const sender = createReporter({ ...task.callback, attempt: task.attempt, abort, fetcher });
  let stage: TaskStage = 'import';
  return {
    ...sender,
    get stage() {
      return stage;
    },
    progress(next, percent, input) {
      stage = next;
      sender.progress(next, percent, input);
    },
  };
}

/**
 * The URLs a run that waited for a slot uses: a task waits behind every run ahead of it, long
 * enough for its presigned URLs to near their expiry, so it asks the Worker for new ones. Null
 * when the job no longer wants the run (409). A Worker that cannot answer leaves the task's own
 * URLs, which stay valid for hours; one older than `refresh_url` never sends it.
 */
export async function freshUrls(task: ProcessorTask, signal: AbortSignal, fetcher: typeof fetch = fetch): Promise<FreshUrls | null> {
  if (!task.refresh_url) return task;
  try {
    const res = await fetcher(task.refresh_url, {
      method: 'POST',
      headers: { authorization: `Bearer ${task.callback.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ attempt: task.attempt }),
      signal: AbortSignal.any([signal, AbortSignal.timeout(CALLBACK_TIMEOUT_MS)]),
    });
    if (res.status === 409) return null;
    const parsed = FreshUrls.safeParse(await res.json().catch(() => null));
    if (res.ok && parsed.success) return parsed.data;
    console.error(
      JSON.stringify({ level: 'warn', msg: 'fresh URLs refused; using the task URLs', job_id: task.job_id, status: res.status }),
    );
  } catch (err) {
    console.error(
      JSON.stringify({ level: 'warn', msg: 'fresh URLs failed; using the task URLs', job_id: task.job_id, error: String(err) }),
    );
  }
  return task;
}

/** Where a run writes, matched to what its kind makes. */
export type Target =
  | { kind: 'probe' }
  | { kind: 'copy'; url: string }
  | { kind: JobKind; output: Exclude<FreshUrls['output'], { type: 'none' }> };

/**
 * Refuses, before anything is downloaded, a run whose output cannot take what its kind makes
 * (the Worker and the processor disagree on the contract) or a standalone run with options.
 *
 * @example
 * runTarget('probe', {}, { type: 'file', url }); // { ok: false, error: { kind: 'invalid_input', … } }
 */
export function runTarget(
  kind: RunKind,
  options: unknown,
  output: FreshUrls['output'],
): { ok: true; target: Target } | { ok: false; error: ErrorBody } {
  const mismatch = (wanted: string, why: string): { ok: false; error: ErrorBody } => ({
    ok: false,
    error: {
      kind: 'invalid_input',
      message: `A ${kind} run ${why}, so its output must be ${wanted} but received {"type": "${output.type}"}; deploy the Worker and the processor from the same Kiln version.`,
    },
  });
  if (isStandalone(kind)) {
    const refused = standaloneOptionsError(kind, options);
    if (refused) return { ok: false, error: refused };
  }
  if (kind === 'probe') return output.type === 'none' ? { ok: true, target: { kind } } : mismatch('{"type": "none"}', 'writes nothing');
  if (kind === 'copy') {
    return output.type === 'file'
      ? { ok: true, target: { kind, url: output.url } }
      : mismatch('{"type": "file"}', 'writes one file unchanged');
  }
  if (output.type === 'none') return mismatch('a file or a folder', 'writes its encoded output');
  return { ok: true, target: { kind, output } };
}

/** How the part of a run after the download ended: the success event's content, or where and why it failed. */
export type Outcome =
  | { ok: true; success: Omit<Extract<ProcessorEvent, { type: 'succeeded' }>, 'type' | 'attempt'> }
  | { ok: false; stage: TaskStage; error: ErrorBody };

export interface Downloaded {
  task: ProcessorTask;
  ctx: RunContext;
  reporter: Reporter;
  signal: AbortSignal;
  inputPath: string;
  dir: string;
}

/** probe → (copy) export: the input's MediaInfo, and for a copy its bytes uploaded as they came. */
export async function probeAndCopy(target: Extract<Target, { kind: 'probe' | 'copy' }>, run: Downloaded): Promise<Outcome> {
  const { reporter, signal, ctx } = run;
  reporter.progress('probe', 0);
  const probed = await probeInput({ kind: target.kind, options: run.task.options, inputPath: run.inputPath, limits: ctx.limits, signal });
  if (!probed.ok) return { ok: false, stage: 'probe', error: probed.error };
  reporter.progress('probe', 100, probed.info);
  if (target.kind === 'probe') return { ok: true, success: { output: probed.info } };
  reporter.progress('export', 0);
  const upload = await uploadFile({
    path: run.inputPath,
    url: target.url,
    contentType: probed.info.type,
    allowLoopback: ctx.allowLoopback,
    signal,
  });
  return upload.ok ? { ok: true, success: { output: probed.info } } : { ok: false, stage: 'export', error: upload.error };
}

/** probe → encode → export: one encoded output, uploaded as a file or a folder of files. */
async function encodeAndUpload(target: Extract<Target, { kind: JobKind }>, run: Downloaded): Promise<Outcome> {
  const { reporter, signal, ctx, task } = run;
  const workDir = join(run.dir, 'out');
  await mkdir(workDir);
  const result = await processMedia({
    kind: target.kind,
    options: task.options,
    inputPath: run.inputPath,
    workDir,
    ...(target.output.type === 'folder' && target.output.main ? { outputName: target.output.main } : {}),
    limits: ctx.limits,
    signal,
    onProgress: (stage, percent) => reporter.progress(stage, percent),
  });
  if (!result.ok) return { ok: false, stage: result.stage === 'probe' ? 'probe' : 'encode', error: result.error };
  reporter.progress('encode', 100, result.input);
  return uploadOutput(target, result, run);
}

/** export: an encoded output uploaded as a file, or as a folder of files under its main file. */
export async function uploadOutput(
  target: Extract<Target, { kind: JobKind }>,
  encoded: Extract<EncodedOutput, { ok: true }>,
  run: Omit<Downloaded, 'inputPath' | 'dir'>,
): Promise<Outcome> {
  const { reporter, signal, ctx, task } = run;
  reporter.progress('export', 0);
  const folder = dirname(encoded.output.path);
  const upload =
    target.output.type === 'file'
      ? await uploadFile({
          path: encoded.output.path,
          url: target.output.url,
          contentType: encoded.output.info.type,
          allowLoopback: ctx.allowLoopback,
          signal,
        })
      : await uploadFolder({
          dir: folder,
          filesUrl: target.output.files_url,
          token: task.callback.token,
          attempt: task.attempt,
          allowLoopback: ctx.allowLoopback,
          signal,
          fetcher: ctx.fetcher,
        });
  if (!upload.ok) return { ok: false, stage: 'export', error: upload.error };
  return {
    ok: true,
    success: {
      output: encoded.output.info,
      notes: encoded.notes,
      ...(target.output.type === 'folder' ? { name: relative(folder, encoded.output.path) } : {}),
    },
  };
}

/**
 * One processor run: import (download) → probe → encode → export (upload) for a job kind, import
 * → probe for a `probe` run, import → probe → export of the input unchanged for a `copy`, reported
 * to the Worker as it goes. Never throws: every outcome ends in a succeeded or failed event, and
 * the temp directory is always removed.
 */
export async function runTask(task: ProcessorTask, ctx: RunContext): Promise<void> {
  const abort = new AbortController();
  // A crash is reported in the stage the run had reached: a probe run never claims it was encoding.
  const reporter = trackedReporter(task, abort, ctx.fetcher);
  reporter.progress('import', 0);
  // Waiting for a slot is not processing: the time limit starts once this run may use the CPU.
  const slot = await slotOrShutdown(ctx);
  if (!slot) return void (await reporter.giveBack('import', givenBackReason(ctx)));
  const { release, waited } = slot;
  const deadline = setTimeout(() => abort.abort(new TimeLimitError('Over the processing time limit')), ctx.limits.maxProcessingS * 1000);
  const unlink = abortOnShutdown(ctx, abort);
  let dir: string | null = null;
  const removeDir = async () => {
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => {});
    dir = null;
  };
  const fail = async (at: TaskStage, error: ErrorBody) => {
    if (abort.signal.reason instanceof ShutdownError) {
      // The files go first: the processor exits soon, whether or not the Worker answers.
      await removeDir();
      return reporter.giveBack(at, abort.signal.reason.message);
    }
    return reporter.finish({
      type: 'failed',
      attempt: task.attempt,
      stage: at,
      error: abort.signal.reason instanceof TimeLimitError ? timeLimitError(ctx.limits) : error,
    });
  };
  try {
    const urls = waited ? await freshUrls(task, abort.signal, ctx.fetcher) : task;
    if (!urls) return void (await fail('import', runNotWantedError()));
    const planned = runTarget(task.kind, task.options, urls.output);
    if (!planned.ok) return void (await fail('import', planned.error));
    await mkdir(ctx.tmpRoot, { recursive: true });
    dir = await mkdtemp(join(ctx.tmpRoot, `${task.job_id}-`));
    const inputPath = join(dir, 'input');
    const download = await downloadToFile({
      url: urls.input_url,
      path: inputPath,
      limits: ctx.limits,
      allowLoopback: ctx.allowLoopback,
      signal: abort.signal,
      onProgress: (p) => reporter.progress('import', p),
    });
    if (!download.ok) return void (await fail('import', download.error));
    const { target } = planned;
    const run: Downloaded = { task, ctx, reporter, signal: abort.signal, inputPath, dir };
    const outcome =
      target.kind === 'probe' || target.kind === 'copy' ? await probeAndCopy(target, run) : await encodeAndUpload(target, run);
    if (!outcome.ok) return void (await fail(outcome.stage, outcome.error));
    await reporter.finish({ type: 'succeeded', attempt: task.attempt, ...outcome.success });
  } catch (err) {
    // Disk full, an unwritable temp root, a bug: the job still hears why, and the processor lives on.
    console.error(JSON.stringify({ level: 'error', msg: 'run crashed', job_id: task.job_id, error: String(err) }));
    await fail(reporter.stage, CRASH_ERROR);
  } finally {
    clearTimeout(deadline);
    unlink();
    release();
    await removeDir();
  }
}
