import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { type ErrorBody, runNotWantedError } from '../../schemas/errors.ts';
import { FreshUrls, type ProcessorTask, type TaskStage } from '../../schemas/processor.ts';
import type { Limits } from '../limits.ts';
import { downloadToFile, uploadFile } from '../net/transfer.ts';
import { processMedia } from '../process/index.ts';
import { uploadFolder } from './folder-upload.ts';
import { CALLBACK_TIMEOUT_MS, createReporter } from './reporter.ts';

export interface RunContext {
  limits: Limits;
  /** Development only: lets inputs and outputs live on loopback (wrangler's local R2). */
  allowLoopback: boolean;
  tmpRoot: string;
  fetcher?: typeof fetch;
  /** Resolves once this run may use the CPU (heartbeats go on meanwhile): how to give the slot back, and whether it had to wait. */
  waitForSlot?: () => Promise<{ release: () => void; waited: boolean }>;
}

/** The abort reason of the processing time limit: every stage reports an abort as `cancelled`, and this tells the two apart. */
class TimeLimitError extends Error {
  override name = 'TimeLimitError';
}

/**
 * The URLs a run that waited for a slot uses: a task waits behind every run ahead of it, long
 * enough for its presigned URLs to near their expiry, so it asks the Worker for new ones. Null
 * when the job no longer wants the run (409). A Worker that cannot answer leaves the task's own
 * URLs, which stay valid for hours; one older than `refresh_url` never sends it.
 */
async function freshUrls(task: ProcessorTask, signal: AbortSignal, fetcher: typeof fetch = fetch): Promise<FreshUrls | null> {
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

/**
 * One processor run: import (download) → probe → encode → export (upload), reported to the
 * Worker as it goes. Never throws: every outcome ends in a succeeded or failed event, and the
 * temp directory is always removed.
 */
export async function runTask(task: ProcessorTask, ctx: RunContext): Promise<void> {
  const abort = new AbortController();
  const reporter = createReporter({ ...task.callback, attempt: task.attempt, abort, fetcher: ctx.fetcher });
  reporter.progress('import', 0);
  // Waiting for a slot is not processing: the time limit starts once this run may use the CPU.
  const { release, waited } = (await ctx.waitForSlot?.()) ?? { release: () => {}, waited: false };
  const deadline = setTimeout(() => abort.abort(new TimeLimitError('Over the processing time limit')), ctx.limits.maxProcessingS * 1000);
  let dir: string | null = null;
  const fail = (stage: TaskStage, error: ErrorBody) =>
    reporter.finish({
      type: 'failed',
      attempt: task.attempt,
      stage,
      error:
        abort.signal.reason instanceof TimeLimitError
          ? {
              kind: 'timeout',
              message: `Processing took longer than the ${ctx.limits.maxProcessingS} s limit; trim the input or lower the quality.`,
            }
          : error,
    });
  try {
    const urls = waited ? await freshUrls(task, abort.signal, ctx.fetcher) : task;
    if (!urls) return void (await fail('import', runNotWantedError()));
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
    const workDir = join(dir, 'out');
    await mkdir(workDir);
    const result = await processMedia({
      kind: task.kind,
      options: task.options,
      inputPath,
      workDir,
      ...(urls.output.type === 'folder' && urls.output.main ? { outputName: urls.output.main } : {}),
      limits: ctx.limits,
      signal: abort.signal,
      onProgress: (stage, percent) => reporter.progress(stage, percent),
    });
    if (!result.ok) return void (await fail(result.stage === 'probe' ? 'probe' : 'encode', result.error));
    reporter.progress('encode', 100, result.input);
    reporter.progress('export', 0);
    const folder = dirname(result.output.path);
    const upload =
      urls.output.type === 'file'
        ? await uploadFile({
            path: result.output.path,
            url: urls.output.url,
            contentType: result.output.info.type,
            allowLoopback: ctx.allowLoopback,
            signal: abort.signal,
          })
        : await uploadFolder({
            dir: folder,
            filesUrl: urls.output.files_url,
            token: task.callback.token,
            attempt: task.attempt,
            allowLoopback: ctx.allowLoopback,
            signal: abort.signal,
            fetcher: ctx.fetcher,
          });
    if (!upload.ok) return void (await fail('export', upload.error));
    await reporter.finish({
      type: 'succeeded',
      attempt: task.attempt,
      output: result.output.info,
      notes: result.notes,
      ...(urls.output.type === 'folder' ? { name: relative(folder, result.output.path) } : {}),
    });
  } catch (err) {
    // Disk full, an unwritable temp root, a bug: the job still hears why, and the processor lives on.
    console.error(JSON.stringify({ level: 'error', msg: 'run crashed', job_id: task.job_id, error: String(err) }));
    await fail('encode', {
      kind: 'processing_failed',
      message: 'The processor hit an unexpected error (for example, its disk is full); retry the job, and report it if it persists.',
    });
  } finally {
    clearTimeout(deadline);
    release();
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}
