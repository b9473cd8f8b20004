/**
 * A coalesced run (`POST /run-group`): several jobs of one tenant on the same input, run as one.
 * The input is downloaded once and probed once. Every video output and every video frame for a
 * still image comes out of ONE ffmpeg process: a `split` filter graph behind one decode feeds each
 * encoder the same filters and settings its separate job would use (the builders in video/ and
 * image/ plan the outputs, this file only wires them to one decode). A still input is decoded by
 * one sharp instance that every image output clones. Outputs no shared graph can take (trimmed
 * video, animation, audio, adaptive HLS, probe, copy) are encoded one after another on the same
 * download. Each job reports on its own callback: one failing or cancelled leaves the others running.
 */
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { cancelledError, type ErrorBody, runNotWantedError } from '../../schemas/errors.ts';
import type { ImageOptions, JobKind, JobOptions, VideoOptions } from '../../schemas/options.ts';
import type { FreshUrls, ProcessorGroupTask, ProcessorTask, TaskStage } from '../../schemas/processor.ts';
import { runFfmpeg } from '../ffmpeg/index.ts';
import { encodeImage, imageDecoder, resolveSource } from '../image/index.ts';
import { planVideoFrame } from '../image/source.ts';
import { outputBytesError } from '../limits.ts';
import { downloadToFile } from '../net/transfer.ts';
import { probeFile } from '../probe/index.ts';
import { type EncodedOutput, encodeProbed, readBack } from '../process/index.ts';
import { validateOptions } from '../process/validate.ts';
import type { EncodeContext } from '../types.ts';
import { planVideo } from '../video/index.ts';
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
  timeLimitError,
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

/** A member whose job encodes an output: its validated options and the context its encoder gets. */
interface Encoding {
  m: Member;
  target: Extract<Target, { kind: JobKind }>;
  options: JobOptions;
  ctx: EncodeContext;
}

/** One output of the shared decode: the filters before its own (a frame's seek), and its output file with its job's options. */
interface Branch {
  e: Encoding;
  prefix: string[];
  output: string;
  outputOptions: string[];
  /** Notes the plan made (trim, resize, a clamped frame time). */
  notes: string[];
  /** For a video frame: the image job still to encode from it. */
  frame?: ImageOptions;
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

/** A signal that aborts once every one of `signals` has: the shared work stops when no job wants it any more. */
function allAborted(signals: AbortSignal[]): AbortSignal {
  const all = new AbortController();
  const check = () => {
    if (signals.every((s) => s.aborted)) all.abort(cancelledError().message);
  };
  for (const s of signals) s.addEventListener('abort', check, { once: true });
  check();
  return all.signal;
}

/**
 * Moves one output's `-vf` chain into the shared graph as `[input]…[label]`: its `-map 0:v:0`
 * becomes the label, and `prefix` runs before its own filters.
 *
 * @example
 * branchOf(['-map', '0:v:0', '-vf', 'scale=640:360', '-c:v', 'libx264'], 's0', 'o0', []);
 * // { chain: '[s0]scale=640:360[o0]', outputOptions: ['-map', '[o0]', '-c:v', 'libx264'] }
 */
export function branchOf(
  outputOptions: string[],
  input: string,
  label: string,
  prefix: string[],
): { chain: string; outputOptions: string[] } {
  const vf = outputOptions.indexOf('-vf');
  const filters = [...prefix, ...(vf >= 0 ? [outputOptions[vf + 1] ?? 'null'] : [])];
  const rest = outputOptions.filter((_, i) => vf < 0 || (i !== vf && i !== vf + 1));
  const map = rest.findIndex((a, i) => a === '0:v:0' && rest[i - 1] === '-map');
  if (map >= 0) rest[map] = `[${label}]`;
  return { chain: `[${input}]${filters.length ? filters.join(',') : 'null'}[${label}]`, outputOptions: rest };
}

async function fileBytes(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => 0,
  );
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
    const reason = givenBackReason(ctx.shutdown ?? limit.signal);
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

/** Probe once, then the shared decode, the still-image clones and the separate encodes; uploads start as outputs finish. */
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
  const encodings: Encoding[] = [];
  for (const { m, target, options } of jobs) {
    m.reporter.progress('probe', 100, probe.info);
    const workDir = join(outRoot, m.task.job_id);
    await mkdir(workDir, { recursive: true });
    encodings.push({
      m,
      target,
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
    });
  }
  const upload = (e: Encoding, result: EncodedOutput) =>
    settle(
      e.m,
      'export',
      result.ok
        ? uploadOutput(e.target, result, { task: e.m.task, ctx, reporter: e.m.reporter, signal: e.m.signal })
        : encodeFailed(result.error),
    );

  const separate: Encoding[] = [];
  const branches: Branch[] = [];
  const stills: Encoding[] = [];
  for (const e of encodings) {
    e.m.reporter.progress('encode', 0);
    if (e.m.task.kind === 'video' && probe.info.kind === 'video') {
      const plan = planVideo(e.ctx, e.options as VideoOptions);
      if (!plan.ok) upload(e, plan);
      // A trimmed output seeks its own input; its own ffmpeg run keeps that exact.
      else if (plan.trim.inputOptions.length > 0) separate.push(e);
      else branches.push({ e, prefix: [], output: plan.output, outputOptions: plan.outputOptions, notes: plan.notes });
    } else if (e.m.task.kind === 'image' && probe.info.kind === 'video') {
      const options = e.options as ImageOptions;
      const frame = planVideoFrame(e.ctx, options.start);
      // What `-ss` before `-i` does on a decoded stream: ffmpeg inserts the same trim for an accurate seek.
      const prefix = frame.at > 0 ? [`trim=start=${frame.at}`] : [];
      branches.push({ e, prefix, output: frame.output, outputOptions: frame.frameArgs, notes: frame.notes, frame: options });
    } else if (e.m.task.kind === 'image' && probe.info.kind === 'image') stills.push(e);
    else separate.push(e);
  }
  const pixFmt = probe.details.video?.pixFmt;
  if (branches.length < 2 || !pixFmt) separate.unshift(...branches.splice(0).map((b) => b.e));

  const [again] = await Promise.all([
    pixFmt && branches.length > 0 ? sharedDecode(branches, pixFmt, run, outRoot, upload) : [],
    clonedStills(stills, run, upload),
  ]);
  // One at a time, as separate jobs would run in this one slot.
  for (const e of [...separate, ...again]) {
    if (e.m.finished) continue;
    if (e.m.signal.aborted) {
      fail(e.m, 'encode', cancelledError());
      continue;
    }
    upload(e, await encodeProbed(e.m.task.kind as JobKind, e.options, e.ctx));
  }
}

/**
 * One ffmpeg process, one decode, a `split` feeding every branch (its frames identical to those a
 * separate run's filters get: test/container/run/group.test.ts compares them). When it fails, none of its
 * outputs is trusted and every branch comes back to be encoded on its own, so each job gets its
 * own verdict and its own message.
 */
async function sharedDecode(
  branches: Branch[],
  pixFmt: string,
  run: GroupRun,
  outRoot: string,
  upload: (e: Encoding, result: EncodedOutput) => void,
): Promise<Encoding[]> {
  const { ctx } = run;
  const outputs = branches.map((b, i) => ({ ...branchOf(b.outputOptions, `s${i}`, `o${i}`, b.prefix), output: b.output }));
  // `split` gives every branch the same pixel format, so one branch that wants RGB (a frame) would
  // turn the frames of every other into RGB and back. Pinned to the decoder's own format, each branch
  // converts what it needs after the split, exactly as its separate run converts after the decoder.
  const graph = [
    `[0:v]format=${pixFmt},split=${branches.length}${branches.map((_, i) => `[s${i}]`).join('')}`,
    ...outputs.map((o) => o.chain),
  ].join(';');
  const [first, ...more] = outputs;
  const encodings = branches.map((b) => b.e);
  if (!first) return [];
  const ran = await runFfmpeg({
    inputs: [{ path: run.inputPath }],
    complexFilter: graph,
    output: first.output,
    outputOptions: first.outputOptions,
    moreOutputs: more,
    expectedS: encodings[0]?.ctx.info.duration ?? null,
    timeoutMs: ctx.limits.maxProcessingS * 1000,
    signal: AbortSignal.any([run.limit, allAborted(encodings.map((e) => e.m.signal))]),
    onProgress: (p) => {
      for (const e of encodings) e.m.reporter.progress('encode', p);
    },
    // Each output keeps its own byte limit (checked below); this bounds the disk the shared run may fill.
    outputLimit: { dir: outRoot, maxBytes: ctx.limits.maxOutputBytes * branches.length },
  });
  if (!ran.ok) return encodings;
  const again: Encoding[] = [];
  for (const b of branches) {
    const { e } = b;
    if (e.m.signal.aborted) {
      run.fail(e.m, 'encode', cancelledError());
      continue;
    }
    const bytes = await fileBytes(b.output);
    if (bytes > ctx.limits.maxOutputBytes) upload(e, { ok: false, error: outputBytesError(ctx.limits.maxOutputBytes) });
    else if (!b.frame) upload(e, await readBack({ ok: true, path: b.output, notes: b.notes }, e.m.signal));
    // No frame at that time (a VFR tail): the separate path takes the last frame instead.
    else if (bytes === 0) again.push(e);
    else {
      const image = await encodeImage(e.ctx, b.frame, { source: { ok: true, input: b.output, notes: b.notes } });
      upload(e, image.ok ? await readBack(image, e.m.signal) : image);
    }
  }
  return again;
}

/** Still-image outputs from one sharp decoder, one clone per output, encoded side by side. */
async function clonedStills(stills: Encoding[], run: GroupRun, upload: (e: Encoding, result: EncodedOutput) => void): Promise<Encoding[]> {
  const [first] = stills;
  if (!first) return [];
  // Made once for every still (a HEIC converted, an SVG made safe): it stops only once they all have.
  const signals = stills.map((e) => e.ctx.signal).filter((s) => s !== undefined);
  const signal = signals.length > 0 ? allAborted(signals) : undefined;
  const source = await resolveSource({ ...first.ctx, workDir: run.dir, signal }, first.options as ImageOptions);
  if (!source.ok) {
    for (const e of stills) upload(e, source);
    return [];
  }
  const decoded = imageDecoder(source.input, run.ctx.limits);
  await Promise.all(
    stills.map(async (e) => {
      const image = await encodeImage(e.ctx, e.options as ImageOptions, { source, decoded });
      upload(e, image.ok ? await readBack(image, e.m.signal) : image);
    }),
  );
  return [];
}
