/**
 * A coalesced run (`POST /run-group`): several jobs of one tenant on the same input, run as one.
 * The input is downloaded once and probed once; the outputs are encoded together
 * (container/process/together.ts: one decode for every output that can share it), and probe and
 * copy jobs run on the same download. Each job reports on its own callback and uploads its output
 * as soon as it is made: one failing or cancelled leaves the others running.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cancelledError, type ErrorBody, runNotWantedError } from '../../schemas/errors.ts';
import type { JobKind, JobOptions } from '../../schemas/options.ts';
import type { FreshUrls, ProcessorGroupTask, ProcessorTask, TaskStage } from '../../schemas/processor.ts';
import { timeLimitError } from '../limits.ts';
import { downloadToFile } from '../net/transfer.ts';
import { probeFile } from '../probe/index.ts';
import { allAborted, encodeTogether, type TogetherOutput } from '../process/together.ts';
import { validateOptions } from '../process/validate.ts';
import {
  abortOnShutdown,
  CRASH_ERROR,
  freshUrls,
  givenBackReason,
  type Outcome,
  probeAndCopy,
  type RunContext,
  runTarget,
  ShutdownError,
  slotOrShutdown,
  type Target,
  TimeLimitError,
  type TrackedReporter,
  trackedReporter,
  uploadOutput,
} from './index.ts';

/** One job of the group: its own abort (a 409 on its callback), reporter, target and scratch folder. */
interface Member {
  task: ProcessorTask;
  abort: AbortController;
  reporter: TrackedReporter;
  /** Aborts when this job no longer wants the run or the group is over its time limit. */
  signal: AbortSignal;
  urls: FreshUrls | null;
  target: Target | null;
  finished: boolean;
}

interface GroupRun {
  ctx: RunContext;
  dir: string;
  inputPath: string;
  limit: AbortSignal;
  fail: (m: Member, stage: TaskStage, error: ErrorBody) => void;
  /** Sends a member's verdict once `outcome` settles (an upload, usually); the run ends when all have. */
  settle: (m: Member, stage: TaskStage, outcome: Promise<Outcome>) => void;
}

function encodeFailed(error: ErrorBody): Promise<Outcome> {
  return Promise.resolve({ ok: false, stage: 'encode', error });
}

/**
 * Runs a group of tasks on their one input; never throws, every task ends with its own succeeded
 * or failed event, and the temp directory is always removed.
 *
 * @example
 * await runGroup({ tasks: [hd, thumbnail, preview] }, ctx);
 */
export async function runGroup(group: ProcessorGroupTask, ctx: RunContext): Promise<void> {
  const limit = new AbortController();
  const members: Member[] = group.tasks.map((task) => {
    const abort = new AbortController();
    return {
      task,
      abort,
      reporter: trackedReporter(task, abort, ctx.fetcher),
      signal: AbortSignal.any([abort.signal, limit.signal]),
      urls: null,
      target: null,
      finished: false,
    };
  });
  for (const m of members) m.reporter.progress('import', 0);
  const slot = await slotOrShutdown(ctx);
  if (!slot) {
    const reason = givenBackReason(ctx);
    await Promise.all(members.map((m) => m.reporter.giveBack('import', reason)));
    return;
  }
  const { release, waited } = slot;
  const deadline = setTimeout(() => limit.abort(new TimeLimitError('Over the processing time limit')), ctx.limits.maxProcessingS * 1000);
  // The processor stopping stops the whole group, like its time limit, and gives every job back.
  const unlink = abortOnShutdown(ctx, limit);
  const verdicts: Promise<unknown>[] = [];
  const fail = (m: Member, stage: TaskStage, error: ErrorBody) => {
    if (m.finished) return;
    m.finished = true;
    const { reason } = limit.signal;
    if (reason instanceof ShutdownError) return void verdicts.push(m.reporter.giveBack(stage, reason.message));
    const why = reason instanceof TimeLimitError ? timeLimitError(ctx.limits) : m.abort.signal.aborted ? cancelledError() : error;
    verdicts.push(m.reporter.finish({ type: 'failed', attempt: m.task.attempt, stage, error: why }));
  };
  const settle = (m: Member, stage: TaskStage, outcome: Promise<Outcome>) => {
    verdicts.push(
      outcome.then(
        async (o) => {
          if (m.finished) return;
          if (!o.ok) return fail(m, o.stage, o.error);
          m.finished = true;
          await m.reporter.finish({ type: 'succeeded', attempt: m.task.attempt, ...o.success });
        },
        (err: unknown) => {
          console.error(JSON.stringify({ level: 'error', msg: 'group output crashed', job_id: m.task.job_id, error: String(err) }));
          fail(m, stage, CRASH_ERROR);
        },
      ),
    );
  };
  const live = () => members.filter((m) => !m.finished);
  let dir: string | null = null;
  try {
    await Promise.all(
      members.map(async (m) => {
        m.urls = waited ? await freshUrls(m.task, m.signal, ctx.fetcher) : m.task;
      }),
    );
    for (const m of members) {
      if (!m.urls) {
        fail(m, 'import', runNotWantedError());
        continue;
      }
      const planned = runTarget(m.task.kind, m.task.options, m.urls.output);
      if (planned.ok) m.target = planned.target;
      else fail(m, 'import', planned.error);
    }
    const reader = live()[0]?.urls;
    if (!reader) return;
    await mkdir(ctx.tmpRoot, { recursive: true });
    dir = await mkdtemp(join(ctx.tmpRoot, `${group.tasks[0]?.job_id}-group-`));
    const inputPath = join(dir, 'input');
    const download = await downloadToFile({
      url: reader.input_url,
      path: inputPath,
      limits: ctx.limits,
      allowLoopback: ctx.allowLoopback,
      signal: AbortSignal.any([limit.signal, allAborted(live().map((m) => m.signal))]),
      onProgress: (p) => {
        for (const m of live()) m.reporter.progress('import', p);
      },
    });
    if (!download.ok) {
      for (const m of live()) fail(m, 'import', download.error);
      return;
    }
    await encodeAll(live(), { ctx, dir, inputPath, limit: limit.signal, fail, settle });
  } catch (err) {
    console.error(JSON.stringify({ level: 'error', msg: 'group run crashed', job_id: group.tasks[0]?.job_id, error: String(err) }));
    for (const m of live()) fail(m, m.reporter.stage, CRASH_ERROR);
  } finally {
    // Uploads settle verdicts as they finish; the folder goes only once every one has.
    while (verdicts.length > 0) await Promise.allSettled(verdicts.splice(0));
    for (const m of live()) fail(m, m.reporter.stage, CRASH_ERROR);
    await Promise.allSettled(verdicts);
    clearTimeout(deadline);
    unlink();
    release();
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

/** Probe once, then every output together; probe and copy jobs first, on the download. */
async function encodeAll(members: Member[], run: GroupRun): Promise<void> {
  const { ctx, fail, settle } = run;
  const jobs: Array<{ m: Member; target: Extract<Target, { kind: JobKind }>; options: JobOptions }> = [];
  for (const m of members) {
    const target = m.target;
    if (!target) continue;
    if (target.kind === 'probe' || target.kind === 'copy') {
      const outcome = probeAndCopy(target, {
        task: m.task,
        ctx,
        reporter: m.reporter,
        signal: m.signal,
        inputPath: run.inputPath,
        dir: run.dir,
      });
      settle(m, 'probe', outcome);
      await outcome.catch(() => {});
      continue;
    }
    const validated = validateOptions(target.kind, m.task.options);
    if (validated.ok) jobs.push({ m, target, options: validated.options });
    else fail(m, 'probe', validated.error);
  }
  if (jobs.length === 0) return;
  for (const { m } of jobs) m.reporter.progress('probe', 0);
  const probe = await probeFile(run.inputPath, ctx.limits, run.limit);
  if (!probe.ok) {
    for (const { m } of jobs) fail(m, 'probe', probe.error);
    return;
  }
  const outRoot = join(run.dir, 'out');
  const outputs: TogetherOutput[] = [];
  for (const { m, target, options } of jobs) {
    m.reporter.progress('probe', 100, probe.info);
    const workDir = join(outRoot, m.task.job_id);
    await mkdir(workDir, { recursive: true });
    outputs.push({
      kind: target.kind,
      options,
      ctx: {
        inputPath: run.inputPath,
        workDir,
        ...(target.output.type === 'folder' && target.output.main ? { outputName: target.output.main } : {}),
        info: probe.info,
        details: probe.details,
        limits: ctx.limits,
        signal: m.signal,
        onProgress: (p) => m.reporter.progress('encode', p),
      },
      // Uploads start as outputs finish.
      done: (result) =>
        settle(
          m,
          'export',
          result.ok
            ? uploadOutput(target, result, { task: m.task, ctx, reporter: m.reporter, signal: m.signal })
            : encodeFailed(result.error),
        ),
    });
  }
  await encodeTogether(outputs, { inputPath: run.inputPath, dir: run.dir, outRoot, limits: ctx.limits, signal: run.limit }, probe);
}
