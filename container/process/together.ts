/**
 * Several outputs of one probed input, in one pass where the engine can share the work: every
 * whole-video output and every video frame for a still image comes out of ONE ffmpeg process (a
 * `split` filter graph behind one decode feeds each encoder the same filters and settings its
 * separate run would use: the builders in video/ and image/ plan the outputs, this file only wires
 * them to one decode); a still input is decoded by one sharp instance that every image output
 * clones. Outputs no shared graph can take (trimmed video, animation, audio, adaptive HLS) are
 * encoded one after another. Each output gets its own result: one failing or cancelled leaves the
 * others running.
 *
 * Two callers: the processor's coalesced run (container/run/group.ts) and the CLI's several outputs
 * of one input (cli/local.ts, through processTogether).
 */
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { cancelledError, type ErrorBody } from '../../schemas/errors.ts';
import type { MediaInfo } from '../../schemas/file.ts';
import type { ImageOptions, JobKind, JobOptions, VideoOptions } from '../../schemas/options.ts';
import { runFfmpeg } from '../ffmpeg/index.ts';
import { encodeImage, imageDecoder, resolveSource } from '../image/index.ts';
import { planVideoFrame } from '../image/source.ts';
import { type Limits, outputBytesError, timeLimitError } from '../limits.ts';
import { probeFile } from '../probe/index.ts';
import type { EncodeContext } from '../types.ts';
import { planVideo } from '../video/index.ts';
import { type EncodedOutput, encodeProbed, type ProcessResult, readBack } from './index.ts';
import { validateOptions } from './validate.ts';

/** One output to make: its validated options, the context its encoder gets (its own signal), and where its result goes. */
export interface TogetherOutput {
  kind: JobKind;
  options: JobOptions;
  ctx: EncodeContext;
  /** Called once with the output's result, as soon as it is known: an upload can start while the others encode. */
  done: (result: EncodedOutput) => void;
}

/** What the outputs share: the probed input, a scratch folder, and the signal that ends the whole run (a time limit). */
export interface SharedInput {
  inputPath: string;
  /** Scratch for work every still output shares (a HEIC converted, an SVG made safe). */
  dir: string;
  /** The folder holding every output's workDir: the shared decode's disk use is measured there. */
  outRoot: string;
  limits: Limits;
  signal: AbortSignal;
}

/** One output of the shared decode: the filters before its own (a frame's seek), and its output file. */
interface Branch {
  o: TogetherOutput;
  prefix: string[];
  output: string;
  outputOptions: string[];
  /** Notes the plan made (trim, resize, a clamped frame time). */
  notes: string[];
  /** For a video frame: the image options still to encode it with. */
  frame?: ImageOptions;
}

/** A signal that aborts once every one of `signals` has: the shared work stops when no output wants it any more. */
export function allAborted(signals: AbortSignal[]): AbortSignal {
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
function branchOf(outputOptions: string[], input: string, label: string, prefix: string[]): { chain: string; outputOptions: string[] } {
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

/**
 * Encodes every output of one probed input: the shared decode, the still-image clones, then the
 * separate encodes one at a time (as separate jobs would run in one slot). Every output's `done`
 * is called exactly once before this resolves.
 *
 * @example
 * await encodeTogether([hd, thumbnail, preview], { inputPath, dir, outRoot, limits, signal }, probe);
 */
export async function encodeTogether(
  outputs: TogetherOutput[],
  shared: SharedInput,
  probe: { info: MediaInfo; details: EncodeContext['details'] },
): Promise<void> {
  const separate: TogetherOutput[] = [];
  const branches: Branch[] = [];
  const stills: TogetherOutput[] = [];
  for (const o of outputs) {
    o.ctx.onProgress?.(0);
    if (o.kind === 'video' && probe.info.kind === 'video') {
      const plan = planVideo(o.ctx, o.options as VideoOptions);
      if (!plan.ok) o.done(plan);
      // A trimmed output seeks its own input; its own ffmpeg run keeps that exact.
      else if (plan.trim.inputOptions.length > 0) separate.push(o);
      else branches.push({ o, prefix: [], output: plan.output, outputOptions: plan.outputOptions, notes: plan.notes });
    } else if (o.kind === 'image' && probe.info.kind === 'video') {
      const options = o.options as ImageOptions;
      const frame = planVideoFrame(o.ctx, options.start);
      // What `-ss` before `-i` does on a decoded stream: ffmpeg inserts the same trim for an accurate seek.
      const prefix = frame.at > 0 ? [`trim=start=${frame.at}`] : [];
      branches.push({ o, prefix, output: frame.output, outputOptions: frame.frameArgs, notes: frame.notes, frame: options });
    } else if (o.kind === 'image' && probe.info.kind === 'image') stills.push(o);
    else separate.push(o);
  }
  const pixFmt = probe.details.video?.pixFmt;
  if (branches.length < 2 || !pixFmt) separate.unshift(...branches.splice(0).map((b) => b.o));

  const [again] = await Promise.all([
    pixFmt && branches.length > 0 ? sharedDecode(branches, pixFmt, shared) : [],
    clonedStills(stills, shared),
  ]);
  for (const o of [...separate, ...again]) {
    if (o.ctx.signal?.aborted) o.done({ ok: false, error: cancelledError() });
    else o.done(await encodeProbed(o.kind, o.options, o.ctx));
  }
}

/**
 * One ffmpeg process, one decode, a `split` feeding every branch (its frames identical to those a
 * separate run's filters get: test/container/run/group.test.ts compares them). When it fails,
 * none of its outputs is trusted and every branch comes back to be encoded on its own, so each
 * output gets its own verdict and its own message; when it ran out of time, they fail instead, as
 * running each again would spend the time limit once more per output.
 */
async function sharedDecode(branches: Branch[], pixFmt: string, shared: SharedInput): Promise<TogetherOutput[]> {
  const outputs = branches.map((b, i) => ({ ...branchOf(b.outputOptions, `s${i}`, `o${i}`, b.prefix), output: b.output }));
  // `split` gives every branch the same pixel format, so one branch that wants RGB (a frame) would
  // turn the frames of every other into RGB and back. Pinned to the decoder's own format, each branch
  // converts what it needs after the split, exactly as its separate run converts after the decoder.
  const graph = [
    `[0:v]format=${pixFmt},split=${branches.length}${branches.map((_, i) => `[s${i}]`).join('')}`,
    ...outputs.map((o) => o.chain),
  ].join(';');
  const [first, ...more] = outputs;
  const members = branches.map((b) => b.o);
  if (!first) return [];
  const signals = members.map((o) => o.ctx.signal).filter((s) => s !== undefined);
  const ran = await runFfmpeg({
    inputs: [{ path: shared.inputPath }],
    complexFilter: graph,
    output: first.output,
    outputOptions: first.outputOptions,
    moreOutputs: more,
    expectedS: members[0]?.ctx.info.duration ?? null,
    timeoutMs: shared.limits.maxProcessingS * 1000,
    signal: signals.length === members.length ? AbortSignal.any([shared.signal, allAborted(signals)]) : shared.signal,
    onProgress: (p) => {
      for (const o of members) o.ctx.onProgress?.(p);
    },
    // Each output keeps its own byte limit (checked below); this bounds the disk the shared run may fill.
    outputLimit: { dir: shared.outRoot, maxBytes: shared.limits.maxOutputBytes * branches.length },
  });
  if (!ran.ok && (ran.error.reason === 'timeout' || shared.signal.aborted)) {
    for (const o of members) o.done({ ok: false, error: timeLimitError(shared.limits) });
    return [];
  }
  if (!ran.ok) return members;
  const again: TogetherOutput[] = [];
  for (const b of branches) {
    const { o } = b;
    if (o.ctx.signal?.aborted) {
      o.done({ ok: false, error: cancelledError() });
      continue;
    }
    const bytes = await fileBytes(b.output);
    if (bytes > shared.limits.maxOutputBytes) o.done({ ok: false, error: outputBytesError(shared.limits.maxOutputBytes) });
    else if (!b.frame) o.done(await readBack({ ok: true, path: b.output, notes: b.notes }, o.ctx.signal));
    // No frame at that time (a VFR tail): the separate path takes the last frame instead.
    else if (bytes === 0) again.push(o);
    else {
      const image = await encodeImage(o.ctx, b.frame, { source: { ok: true, input: b.output, notes: b.notes } });
      o.done(image.ok ? await readBack(image, o.ctx.signal) : image);
    }
  }
  return again;
}

/** Still-image outputs from one sharp decoder, one clone per output, encoded side by side. */
async function clonedStills(stills: TogetherOutput[], shared: SharedInput): Promise<TogetherOutput[]> {
  const [first] = stills;
  if (!first) return [];
  // Made once for every still (a HEIC converted, an SVG made safe): it stops only once they all have.
  const signals = stills.map((o) => o.ctx.signal).filter((s) => s !== undefined);
  const signal = signals.length === stills.length ? allAborted(signals) : undefined;
  const source = await resolveSource({ ...first.ctx, workDir: shared.dir, signal }, first.options as ImageOptions);
  if (!source.ok) {
    for (const o of stills) o.done(source);
    return [];
  }
  const decoded = imageDecoder(source.input, shared.limits);
  await Promise.all(
    stills.map(async (o) => {
      const image = await encodeImage(o.ctx, o.options as ImageOptions, { source, decoded });
      o.done(image.ok ? await readBack(image, o.ctx.signal) : image);
    }),
  );
  return [];
}

/** One output of a local file for processTogether: what to make (each gets its own folder under the run's). */
export interface LocalOutput {
  kind: JobKind;
  options: unknown;
}

/**
 * Several outputs of one local file in one pass: each output's options validated, the input probed
 * once, then encodeTogether. The results come back in the order of `outputs`, each on its own.
 *
 * @example
 * const [mp4, thumb] = await processTogether({ inputPath: 'clip.mov', dir: '/tmp/run', limits,
 *   outputs: [{ kind: 'video', options: { width: 1280 } }, { kind: 'image', options: { width: 320, start: 2 } }] });
 */
export async function processTogether(req: {
  inputPath: string;
  /** Scratch for the run (the input may be in it): each output's workDir is made in its `out` folder. */
  dir: string;
  outputs: LocalOutput[];
  limits: Limits;
  signal?: AbortSignal;
  onProgress?: (stage: 'probe' | 'encode', percent: number) => void;
}): Promise<ProcessResult[]> {
  const results: ProcessResult[] = req.outputs.map(() => ({ ok: false, stage: 'probe', error: cancelledError() }));
  const valid: Array<{ i: number; kind: JobKind; options: JobOptions; workDir: string }> = [];
  const outRoot = join(req.dir, 'out');
  for (const [i, output] of req.outputs.entries()) {
    const validated = validateOptions(output.kind, output.options);
    if (!validated.ok) {
      results[i] = { ok: false, stage: 'probe', error: validated.error };
      continue;
    }
    const workDir = join(outRoot, String(i));
    await mkdir(workDir, { recursive: true });
    valid.push({ i, kind: output.kind, options: validated.options, workDir });
  }
  if (valid.length === 0 || req.signal?.aborted) return results;
  req.onProgress?.('probe', 0);
  const probe = await probeFile(req.inputPath, req.limits, req.signal);
  if (!probe.ok) {
    for (const { i } of valid) results[i] = { ok: false, stage: 'probe', error: probe.error };
    return results;
  }
  req.onProgress?.('probe', 100);
  // One bar for the whole run: the slowest output is what the user waits for.
  const percents = valid.map(() => 0);
  const outputs: TogetherOutput[] = valid.map((v, n) => ({
    kind: v.kind,
    options: v.options,
    ctx: {
      inputPath: req.inputPath,
      workDir: v.workDir,
      info: probe.info,
      details: probe.details,
      limits: req.limits,
      signal: req.signal,
      onProgress: (percent) => {
        percents[n] = percent;
        req.onProgress?.('encode', Math.min(...percents));
      },
    },
    done: (result) => {
      results[v.i] = result.ok
        ? { ok: true, input: probe.info, output: result.output, notes: result.notes }
        : { ok: false, stage: 'encode', error: result.error satisfies ErrorBody };
    },
  }));
  const signal = req.signal ?? new AbortController().signal;
  await encodeTogether(outputs, { inputPath: req.inputPath, dir: req.dir, outRoot, limits: req.limits, signal }, probe);
  return results;
}
