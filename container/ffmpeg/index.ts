/**
 * The one module that runs ffmpeg (through fluent-ffmpeg) and ffprobe. Everything else builds
 * argument lists and calls `runFfmpeg` / `ffprobeJson`; timeouts, kills, progress and error
 * capture live here only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import ffmpeg from 'fluent-ffmpeg';
import { cancelledError, type ErrorBody } from '../../schemas/errors.ts';
import { outputBytesError } from '../limits.ts';

/** How long ffmpeg gets to exit after SIGTERM (it flushes and closes the output) before SIGKILL. */
export const FFMPEG_KILL_GRACE_MS = 2_000;
/** ffprobe only reads headers and a few packets; anything slower than this is a hostile or broken file. */
export const FFPROBE_TIMEOUT_MS = 30_000;
/** Lines of ffmpeg's stderr kept for error reports: enough for the real error, not the whole log. */
export const STDERR_TAIL_LINES = 30;
/** ffprobe JSON for a pathological file (thousands of streams) is refused beyond this size. */
const FFPROBE_MAX_STDOUT_BYTES = 8 * 1024 * 1024;
/**
 * How often the output directory is measured against its byte limit. Between two looks ffmpeg
 * writes at most a quarter second's worth (tens of MB for raw PCM), a small overshoot of a
 * GiB-sized limit.
 */
export const OUTPUT_SIZE_POLL_MS = 250;

/**
 * The only protocol an input may use: inputs are local files, so nothing a file says (a playlist
 * entry, a reference inside a container) can make ffmpeg or ffprobe open a URL or another protocol.
 */
export const INPUT_PROTOCOLS = 'file';

/** `refused`: ffprobe recognised the file, but as a format not on the caller's list (`refusedFormat` names it). */
export type FfmpegFailure = 'exit' | 'timeout' | 'aborted' | 'spawn' | 'output_limit' | 'refused';

/** A failed ffmpeg/ffprobe run, with what is needed to debug it. `argv` never holds secrets (inputs are local paths). */
export class FfmpegError extends Error {
  reason: FfmpegFailure = 'exit';
  /** The byte limit that was hit, when `reason` is 'output_limit'. */
  maxOutputBytes: number | null = null;
  exitCode: number | null = null;
  signal: NodeJS.Signals | null = null;
  stderrTail: string[] = [];
  argv: string[] = [];
  /** The demuxer ffprobe picked when it was not on the allowed list, e.g. `hls`. */
  refusedFormat: string | null = null;
  constructor(message = 'ffmpeg failed') {
    super(message);
    this.name = 'FfmpegError';
  }
}

export interface FfmpegInput {
  path: string;
  /** Options placed before `-i`, e.g. `['-ss', '2']`. */
  options?: string[];
}

export interface FfmpegRun {
  inputs: FfmpegInput[];
  /** Output file (or playlist) path. */
  output: string;
  outputOptions: string[];
  /** Outputs after `output`, each with its own options: one decode feeding several files (a coalesced run). */
  moreOutputs?: Array<{ output: string; outputOptions: string[] }> | undefined;
  /** A `-filter_complex` graph, if the job needs one. */
  complexFilter?: string;
  /** Seconds of media the output will cover (`planTrim`'s `seconds`); enables progress. */
  expectedS?: number | null;
  /** Wall-clock budget; the process is killed when it runs out. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  onProgress?: ((percent: number) => void) | undefined;
  /** Kills the run once the files under `dir` (outputs and scratch files) pass `maxBytes`. */
  outputLimit?: { dir: string; maxBytes: number } | undefined;
  /** Every stderr line, for a filter that reports what it measured there (loudnorm's first pass). */
  onStderr?: ((line: string) => void) | undefined;
}

export type FfmpegResult = { ok: true; argv: string[] } | { ok: false; error: FfmpegError };

/**
 * A filter to put before one that emits nothing until the end of input (palettegen): ffmpeg's
 * `time=` line stays silent until every output has a frame, so this logs each frame's time
 * instead (`pts_time:`), which `runFfmpeg` turns into progress and keeps out of the error tail.
 */
export const FRAME_CLOCK_FILTER = 'showinfo=checksum=0';
const FRAME_CLOCK_LINE = /^\[Parsed_showinfo_\d+ @ [^\]]+\] /;
const FRAME_CLOCK_TIME = /\bpts_time:(\d+(?:\.\d+)?)/;

/** Parses ffmpeg's `time=HH:MM:SS.xx` from a stderr progress line. */
export function parseTimemark(line: string): number | null {
  const match = /time=\s*(-?)(\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(line);
  if (!match) return null;
  if (match[1] === '-') return 0;
  return Number(match[2]) * 3600 + Number(match[3]) * 60 + Number(match[4]);
}

/** Set by `kiln --debug` to print every ffmpeg/ffprobe command line and its stderr; unset in the processor. */
let trace: ((line: string) => void) | null = null;

/**
 * Hands each ffmpeg and ffprobe command line (shell-quoted, after `$ `) and each line they write
 * to stderr to `listener`, or stops when given null.
 *
 * @example
 * traceFfmpeg((line) => process.stderr.write(`${line}\n`));
 */
export function traceFfmpeg(listener: ((line: string) => void) | null): void {
  trace = listener;
}

function shellQuoted(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(' ');
}

/** Bytes in the files under `dir`, subfolders included (HLS writes one folder per rendition). */
async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    // A file ffmpeg renamed or removed since the listing (an HLS temp segment) counts as empty.
    total += await stat(join(entry.parentPath, entry.name)).then(
      (s) => s.size,
      () => 0,
    );
  }
  return total;
}

/**
 * Runs one ffmpeg command with a wall-clock timeout, an abort signal and, optionally, a limit on
 * the bytes it writes. On timeout, abort or an output past its limit the process gets SIGTERM,
 * then SIGKILL after `FFMPEG_KILL_GRACE_MS`. Never throws for an ffmpeg failure: it returns
 * `{ ok: false, error }` with exit code, signal, stderr tail and argv.
 *
 * @example
 * const result = await runFfmpeg({ inputs: [{ path: 'in.mov' }], output: 'out.mp4',
 *   outputOptions: ['-c:v', 'libx264'], timeoutMs: 60_000 });
 * if (!result.ok) console.error(result.error.stderrTail.join('\n'));
 */
export function runFfmpeg(run: FfmpegRun): Promise<FfmpegResult> {
  // Created before spawning so the stack points at the caller, not at a child-process callback.
  const error = new FfmpegError();
  // fluent-ffmpeg keeps this many lines of output in its own ring buffer (0 would mean unlimited).
  const command = ffmpeg({ stdoutLines: STDERR_TAIL_LINES });
  for (const input of run.inputs) {
    command.input(input.path);
    command.inputOptions(['-protocol_whitelist', INPUT_PROTOCOLS, ...(input.options ?? [])]);
  }
  command.inputOptions(['-hide_banner', '-nostdin']);
  if (run.complexFilter) command.complexFilter(run.complexFilter);
  // As separate arguments: given one array, fluent-ffmpeg splits any element holding exactly one
  // space in two, which broke a -var_stream_map of two renditions ("v:0,name:480p v:1,name:360p").
  if (run.outputOptions.length > 0) command.outputOptions(...run.outputOptions);
  command.output(run.output);
  for (const more of run.moreOutputs ?? []) {
    command.output(more.output);
    if (more.outputOptions.length > 0) command.outputOptions(...more.outputOptions);
  }
  const argv = ['ffmpeg', ...command._getArguments()];
  error.argv = argv;
  trace?.(`$ ${shellQuoted(argv)}`);

  return new Promise((resolve) => {
    const tail: string[] = [];
    let child: ChildProcess | undefined;
    let reason: FfmpegFailure | null = null;
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    let lastPercent = -1;
    let settled = false;

    const stop = (why: FfmpegFailure) => {
      if (reason === null) reason = why;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child?.kill('SIGKILL'), FFMPEG_KILL_GRACE_MS);
      killTimer.unref();
    };
    const timer = setTimeout(() => stop('timeout'), run.timeoutMs);
    const limit = run.outputLimit;
    let measuring: Promise<void> | null = null;
    // A large HLS folder can take longer to list than one poll interval: one listing at a time.
    const measure = (): Promise<void> => {
      if (!limit) return Promise.resolve();
      measuring ??= bytesUnder(limit.dir)
        .then(
          (bytes) => {
            if (bytes > limit.maxBytes) stop('output_limit');
          },
          () => {},
        )
        .finally(() => {
          measuring = null;
        });
      return measuring;
    };
    const poll = limit ? setInterval(measure, OUTPUT_SIZE_POLL_MS) : undefined;
    const onAbort = () => stop('aborted');
    run.signal?.addEventListener('abort', onAbort, { once: true });

    const finish = async (ok: boolean, message?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(poll);
      if (killTimer) clearTimeout(killTimer);
      run.signal?.removeEventListener('abort', onAbort);
      // A run that finished between two looks may still have written too much.
      await measuring;
      await measure();
      if (ok && reason === null) {
        if (run.onProgress && lastPercent < 100) run.onProgress(100);
        resolve({ ok: true, argv });
        return;
      }
      error.reason = reason ?? 'exit';
      if (error.reason === 'output_limit') error.maxOutputBytes = limit?.maxBytes ?? null;
      error.exitCode = exitCode;
      error.signal = exitSignal;
      error.stderrTail = tail.slice(-STDERR_TAIL_LINES);
      error.message =
        error.reason === 'timeout'
          ? `ffmpeg ran longer than ${Math.round(run.timeoutMs / 1000)} s and was killed`
          : error.reason === 'aborted'
            ? 'ffmpeg was stopped because the job was cancelled'
            : error.reason === 'output_limit'
              ? `ffmpeg wrote more than ${limit?.maxBytes} bytes and was killed`
              : (message ?? `ffmpeg exited with code ${exitCode}`);
      resolve({ ok: false, error });
    };

    command.on('start', () => {
      // fluent-ffmpeg exposes the child only as an untyped property; we need it for exit details.
      child = (command as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
      child?.on('exit', (code, signal) => {
        exitCode = code;
        exitSignal = signal;
      });
      if (run.signal?.aborted) stop('aborted');
    });
    command.on('stderr', (line: string) => {
      run.onStderr?.(line);
      trace?.(line);
      const clock = FRAME_CLOCK_LINE.test(line);
      if (!clock) tail.push(line);
      if (tail.length > STDERR_TAIL_LINES * 2) tail.splice(0, tail.length - STDERR_TAIL_LINES);
      if (!run.onProgress || !run.expectedS) return;
      const seconds = clock ? Number(FRAME_CLOCK_TIME.exec(line)?.[1] ?? Number.NaN) : parseTimemark(line);
      if (seconds === null || Number.isNaN(seconds)) return;
      const percent = Math.min(99, Math.floor((seconds / run.expectedS) * 100));
      if (percent > lastPercent) {
        lastPercent = percent;
        run.onProgress(percent);
      }
    });
    command.on('error', (err: Error) => {
      if (!child) {
        error.reason = 'spawn';
        reason ??= 'spawn';
      }
      finish(false, err.message.split('\n')[0]);
    });
    command.on('end', () => finish(true));
    if (run.signal?.aborted) {
      reason = 'aborted';
      void finish(false);
      return;
    }
    command.run();
  });
}

/** One run of a multi-pass encode; the passes share one time limit, abort signal and progress bar. */
export type FfmpegPass = Omit<FfmpegRun, 'timeoutMs' | 'signal' | 'onProgress'> & {
  /** This pass's share of the progress bar, relative to the other passes' weights. */
  weight: number;
};

/** A pass whose arguments depend on what an earlier pass measured: built when its turn comes. */
export interface LaterPass {
  weight: number;
  build: () => Omit<FfmpegPass, 'weight'>;
}

/**
 * Runs ffmpeg passes one after another (e.g. a GIF palette, then the GIF), stopping at the first
 * failure. A {@link LaterPass} is built once the passes before it have run. The wall-clock budget covers all passes; the abort signal kills whichever pass is
 * running; progress rises from 0 to 100 once across all of them, each pass filling its weight.
 *
 * @example
 * const result = await runFfmpegPasses(
 *   [{ inputs, output: 'palette.png', outputOptions, weight: 1 }, { inputs, output: 'out.gif', outputOptions, weight: 2 }],
 *   { timeoutMs: 60_000, onProgress: (p) => console.log(p) },
 * );
 */
export async function runFfmpegPasses(
  passes: Array<FfmpegPass | LaterPass>,
  shared: Pick<FfmpegRun, 'timeoutMs' | 'signal' | 'onProgress'>,
): Promise<FfmpegResult> {
  const deadline = Date.now() + shared.timeoutMs;
  const total = passes.reduce((sum, pass) => sum + pass.weight, 0);
  let done = 0;
  let result: FfmpegResult = { ok: true, argv: [] };
  for (const next of passes) {
    const { weight, ...pass } = 'build' in next ? { weight: next.weight, ...next.build() } : next;
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) {
      const error = new FfmpegError(`ffmpeg ran longer than ${Math.round(shared.timeoutMs / 1000)} s and was killed`);
      error.reason = 'timeout';
      return { ok: false, error };
    }
    const before = done;
    const onProgress = shared.onProgress;
    result = await runFfmpeg({
      ...pass,
      timeoutMs: remainingMs,
      signal: shared.signal,
      onProgress: onProgress && ((percent) => onProgress(Math.floor(((before + (percent / 100) * weight) / total) * 100))),
    });
    if (!result.ok) return result;
    done += weight;
  }
  return result;
}

/** The parts of `ffprobe -show_format -show_streams` JSON that Kiln reads. */
export interface FfprobeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  profile?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  color_transfer?: string;
  color_primaries?: string;
  color_space?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  bit_rate?: string;
  nb_frames?: string;
  channels?: number;
  sample_rate?: string;
  disposition?: Record<string, number>;
  tags?: Record<string, string>;
  side_data_list?: Array<{ side_data_type?: string; rotation?: number }>;
}
export interface FfprobeFormat {
  format_name?: string;
  duration?: string;
  bit_rate?: string;
  size?: string;
  probe_score?: number;
  tags?: Record<string, string>;
}
export interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: FfprobeFormat;
}

export type FfprobeResult = { ok: true; data: FfprobeOutput } | { ok: false; error: FfmpegError };

/** ffmpeg logs the whitelist refusal under the name of the demuxer it had picked: `[hls @ 0x55…] Format not on whitelist`. */
const REFUSED_FORMAT = /\[([^\s@\]]+) @ 0x[0-9a-f]+\] Format not on whitelist/;

/**
 * Runs `ffprobe -show_format -show_streams` on a local file and parses its JSON. With `formats`,
 * a file of any other format is refused before its demuxer reads past the probe (so a playlist's
 * entries are never opened): the failure has reason `refused` and names the format.
 *
 * @example
 * const probe = await ffprobeJson('/tmp/in.mp4', { formats: ['mov', 'matroska'] });
 * if (probe.ok) console.log(probe.data.format?.duration);
 * else if (probe.error.reason === 'refused') console.log(`not accepted: ${probe.error.refusedFormat}`);
 */
export function ffprobeJson(
  path: string,
  {
    timeoutMs = FFPROBE_TIMEOUT_MS,
    signal,
    extraArgs = [],
    formats,
  }: { timeoutMs?: number; signal?: AbortSignal | undefined; extraArgs?: string[]; formats?: readonly string[] } = {},
): Promise<FfprobeResult> {
  const error = new FfmpegError('ffprobe failed');
  // biome-ignore format: ffprobe arguments read as flag/value pairs
  const argv = [
    'ffprobe', '-v', 'error', '-print_format', 'json', '-show_format', '-show_streams',
    '-protocol_whitelist', INPUT_PROTOCOLS, ...(formats ? ['-format_whitelist', formats.join(',')] : []),
    ...extraArgs, '-i', path,
  ];
  error.argv = argv;
  trace?.(`$ ${shellQuoted(argv)}`);
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], signal });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > FFPROBE_MAX_STDOUT_BYTES) child.kill('SIGKILL');
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (trace) for (const line of chunk.toString('utf8').split('\n')) if (line) trace(line);
      if (err.length < 64_000) err += chunk.toString('utf8');
    });
    child.on('error', (e) => {
      // Spawn failures and AbortSignal aborts both land here; 'close' still follows for aborts.
      if ((e as NodeJS.ErrnoException).code === 'ABORT_ERR') error.reason = 'aborted';
      else error.reason = 'spawn';
      error.message = e.message;
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      error.exitCode = code;
      error.signal = sig;
      error.stderrTail = err.split('\n').filter(Boolean).slice(-STDERR_TAIL_LINES);
      if (timedOut) {
        error.reason = 'timeout';
        error.message = `ffprobe ran longer than ${Math.round(timeoutMs / 1000)} s and was killed`;
        return resolve({ ok: false, error });
      }
      const refused = code !== 0 && error.reason === 'exit' ? REFUSED_FORMAT.exec(err) : null;
      if (refused) {
        error.reason = 'refused';
        error.refusedFormat = refused[1] ?? null;
        error.message = `ffprobe recognised the input as ${error.refusedFormat}, which is not on the allowed list`;
        return resolve({ ok: false, error });
      }
      if (code !== 0 || error.reason !== 'exit') {
        if (error.message === 'ffprobe failed') error.message = `ffprobe exited with code ${code}`;
        return resolve({ ok: false, error });
      }
      try {
        resolve({ ok: true, data: JSON.parse(Buffer.concat(out).toString('utf8')) as FfprobeOutput });
      } catch {
        error.message = 'ffprobe printed output that is not JSON';
        resolve({ ok: false, error });
      }
    });
  });
}

/**
 * Maps a failed ffmpeg run to the error a user sees. Message matching on ffmpeg's stderr lives
 * here and nowhere else.
 *
 * @example
 * if (!result.ok) return { ok: false, stage: 'encode', error: ffmpegErrorBody(result.error) };
 */
export function ffmpegErrorBody(error: FfmpegError): ErrorBody {
  if (error.reason === 'timeout') {
    return {
      kind: 'timeout',
      message: 'Processing took longer than the time limit and was stopped; try a shorter clip (start/end) or a smaller size.',
    };
  }
  if (error.reason === 'aborted') return cancelledError();
  if (error.reason === 'output_limit' && error.maxOutputBytes !== null) return outputBytesError(error.maxOutputBytes);
  const text = error.stderrTail.join('\n');
  if (/Invalid data found when processing input|moov atom not found|End of file|Invalid NAL unit|error while decoding/i.test(text)) {
    return {
      kind: 'input_not_media',
      message: 'The input could not be decoded; it may be truncated or corrupt. Re-export or re-upload the file.',
    };
  }
  if (/matches no streams|does not contain any stream|Output file #0 does not contain/i.test(text)) {
    return { kind: 'processing_failed', message: 'The input has no stream this output needs.' };
  }
  if (/No space left on device/i.test(text)) {
    return { kind: 'output_write_failed', message: 'The processor ran out of disk space writing the output.' };
  }
  const last = error.stderrTail.at(-1) ?? error.message;
  return { kind: 'processing_failed', message: `ffmpeg could not process the input: ${last.slice(0, 300)}` };
}

/** How long `ffmpeg -version` may take before the binary counts as broken. */
const VERSION_TIMEOUT_MS = 5_000;

/**
 * The installed ffmpeg's version string, or 'missing' when it cannot run: what /health reports.
 *
 * @example await ffmpegVersion() // '5.1.9-0+deb12u1'
 */
export function ffmpegVersion(): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-version'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: VERSION_TIMEOUT_MS });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', () => resolve('missing'));
    child.on('close', (code) => resolve(code === 0 ? (/ffmpeg version (\S+)/.exec(out)?.[1] ?? 'unknown') : 'missing'));
  });
}
