/**
 * Argument parsing and help text for the `kiln` CLI (docs/api.md#cli). Turns flags into the job options
 * object the processor validates, inferring `--format` from the `-o` extension.
 */
import { extname } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { formatForExtension, writesFolder } from '../schemas/formats.ts';
import type { JobKind } from '../schemas/options.ts';

export type Command = JobKind | 'recipe' | 'probe' | 'task' | 'jobs' | 'connections' | 'health' | 'login';

export const COMMANDS: Record<string, Command> = {
  video: 'video',
  image: 'image',
  audio: 'audio',
  animation: 'animation',
  adaptive: 'adaptive_video',
  adaptive_video: 'adaptive_video',
  recipe: 'recipe',
  probe: 'probe',
  task: 'task',
  jobs: 'jobs',
  connections: 'connections',
  health: 'health',
  login: 'login',
};

/** The kinds `kiln task <kind>` runs, as in POST /tasks. */
export const TASK_KINDS = ['probe', 'import', 'video', 'image', 'audio', 'animation', 'adaptive_video', 'export'] as const;
export type TaskKindName = (typeof TASK_KINDS)[number];

const ENCODE_KINDS = new Set<string>(['video', 'image', 'audio', 'animation', 'adaptive_video']);

/** Whether a command or task kind runs an encode (and so takes the encode flags and -o). */
export function isEncodeKind(kind: string | null | undefined): kind is JobKind {
  return kind != null && ENCODE_KINDS.has(kind);
}

/** Flags Ittybit spells in kebab-case that Kiln first spelt in snake_case: both are accepted. */
const SPELLINGS = {
  webhook_url: 'webhook-url',
  api_url: 'api-url',
  api_key: 'api-key',
  access_key_id: 'access-key-id',
  secret_access_key: 'secret-access-key',
} as const;

export const OPTIONS = {
  // Repeatable: several inputs make a batch, several outputs of one input a multi-output run.
  input: { type: 'string', short: 'i', multiple: true },
  output: { type: 'string', short: 'o', multiple: true },
  concurrency: { type: 'string' },
  width: { type: 'string' },
  height: { type: 'string' },
  fit: { type: 'string' },
  position: { type: 'string' },
  background: { type: 'string' },
  quality: { type: 'string' },
  start: { type: 'string' },
  end: { type: 'string' },
  fps: { type: 'string' },
  frames: { type: 'string' },
  codec: { type: 'string' },
  format: { type: 'string' },
  bitrate: { type: 'string' },
  mute: { type: 'boolean' },
  'no-audio': { type: 'boolean' },
  normalize: { type: 'string' },
  target_lufs: { type: 'string' },
  // Passed on so the answer says why Kiln refuses them, instead of "unknown option".
  waveform: { type: 'string' },
  waveform_points: { type: 'string' },
  json: { type: 'boolean' },
  tty: { type: 'boolean' },
  debug: { type: 'boolean' },
  local: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  // Remote-mode flags (docs/api.md#cli); parsed here so both modes share one parser.
  metadata: { type: 'string', multiple: true },
  webhook_url: { type: 'string' },
  'webhook-url': { type: 'string' },
  async: { type: 'boolean' },
  connection: { type: 'string' },
  api_url: { type: 'string' },
  'api-url': { type: 'string' },
  api_key: { type: 'string' },
  'api-key': { type: 'string' },
  body: { type: 'string' },
  kind: { type: 'string' },
  status: { type: 'string' },
  limit: { type: 'string' },
  after: { type: 'string' },
  before: { type: 'string' },
  name: { type: 'string' },
  endpoint: { type: 'string' },
  region: { type: 'string' },
  access_key_id: { type: 'string' },
  'access-key-id': { type: 'string' },
  secret_access_key: { type: 'string' },
  'secret-access-key': { type: 'string' },
  default: { type: 'boolean' },
} satisfies ParseArgsConfig['options'];

export const USAGE = `kiln — web-ready video, images and audio

Usage:
  kiln <command> -i <file or URL> [-o <file>] [options]
  kiln <command> -i <file> <file>… [-o <folder>] [options]    a batch, on this machine
  kiln <command> -i <file> -o <file> -o <file>… [options]     one input, several outputs
  kiln recipe <recipe.json | - | '<json>'> -i <file> [-o <file>… | -o <folder>]
  kiln task <kind> -i '<json>' [options]
  kiln jobs [<job_id> | create --body <file|-|json>] [options]

Commands:
  video       MP4 (H.264/H.265/AV1), MOV or WebM (VP9/AV1)
  image       JPEG, PNG, WebP or AVIF from an image or a video frame
  audio       MP3, AAC (.m4a), Ogg Vorbis, Opus, WAV or FLAC
  animation   GIF or animated WebP from a stretch of video (--end defaults to --start + 5 s)
  adaptive    HLS ladder; -o is a directory (or a path ending in .m3u8)
  recipe      several outputs of any kinds from one input, in one pass: the recipe is a
              POST /jobs/batch body ({"outputs": [{"kind", "options", "output"?}, …]}, 2–8
              outputs; "input" optional when -i is given); -o once per output names each,
              one -o names a folder; without -o: <input name>-<n>.<ext> here (remote: URLs)
  probe       print what Kiln knows about a file
  task <kind> one step on its own: probe or import -i '{"url":"…"}'; video, image, audio,
              animation or adaptive_video -i '<file object>' (uses its "url"); export -o s3://…
  jobs [id]   list your jobs, newest first, or show one                        (remote)
              --kind <kind> --status <status> --after <id> --before <id> --limit <n> (default 10)
  jobs create --body <file.json | - | '<json>'>  submit a POST /jobs body as it stands (remote)
  connections list | add s3 | delete <name|id>   S3 credentials for s3:// paths (saved here; the API's when remote)
  health      check ffmpeg, ffprobe and sharp here, and the API when one is set
  login       Kiln has no browser login: prints how to set KILN_API_URL and KILN_API_KEY

Options:
  -i, --input <path|url>   input file, or an http(s) URL to download first
  -o, --output <path>      output file; its extension picks --format. Without -o, local mode
                           writes <input name>.<ext> here (<name>-<kind>.<ext> if that is the
                           input, <name>-hls/ for adaptive) and remote mode prints the output URL
  --width, --height <n|n%> pixels or a percentage; one keeps the aspect ratio; never upscales
                           unless both are given with --fit
  --fit <contain|cover|fill>  how to fill width × height (default contain)
  --position <center|top|bottom|left|right|top_left|...>  anchor for cover/contain
  --background <#rrggbb>   padding colour for contain
  --quality <very_low|low|medium|high|very_high|auto>  (default medium; auto is medium)
  --start, --end <s>       seconds; for image, --start is the frame time
  --fps <n>                frames per second (video 1–60, animation 1–60, gif at most 50)
  --frames <n>             stop after this many frames (video)
  --codec <h264|h265|vp9|av1>   video codec
  --format <name>          output format when -o has no telling extension
  --bitrate <bps>          video bitrate cap or audio bitrate
  --no-audio, --mute       drop the audio track (video)
  --normalize lufs         audio: normalise loudness to --target_lufs (default -16 LUFS)
  --target_lufs <n>        audio: loudness target, -70 to -5 (podcasts -16, music -14)
  --waveform, --waveform_points  not supported: the answer says why (Ittybit's guide uses them)
  --json                   JSON Lines on stdout: one object per line (the default when stdout
                           is not a terminal); a failure is {"ok":false,"error":{kind,message}}
  --tty                    human-readable text (the default on a terminal)
  --debug                  local: print each ffmpeg command line and its output on stderr;
                           remote: print each API request and its HTTP status on stderr
  --local                  run on this machine (the default unless an API URL is set)
  --connection <name>      the connection for s3:// paths (else KILN_CONNECTION or ITTYBIT_CONNECTION,
                           else the default connection, else AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
                           AWS_SESSION_TOKEN, AWS_REGION, AWS_ENDPOINT_URL, else ~/.aws/credentials);
                           remote: a connection's name or id (else KILN_CONNECTION or
                           ITTYBIT_CONNECTION, else the API's default), sent as connection_id
  -h, --help               show this help; kiln <command> --help shows that command's own
                           options, with their ranges, allowed values and defaults

Batch and multi-output (on this machine):
  -i a.jpg b.jpg …         several inputs (a shell glob, -i repeated, or a quoted 'photos/*.jpg',
                           which kiln expands) run as a batch: -o names a folder (created if
                           missing; default here) that gets <input name>.<ext> for each
  --concurrency <n>        inputs encoded at once (default: the number of cores; at most 64)
                           Each output prints one line as it finishes (JSON Lines when stdout is
                           not a terminal, with "source" naming the input); a failed input prints
                           its error and the others go on; the exit code is 1 if any failed
  -o a.webp -o a.avif      one input, several outputs: each -o's extension picks its format,
                           the other options apply to all; the input is fetched once

S3 on this machine: -i and -o may be s3://bucket/key (an adaptive -o: s3://bucket/prefix/stream.m3u8);
  connections add s3 --name <name> --access-key-id <id> --secret-access-key <secret>
                  [--endpoint <url>] [--region <region>] [--default]
                  saved in $XDG_CONFIG_HOME/kiln/connections.json (~/.config/kiln), mode 0600;
                  no --endpoint means AWS S3; the first connection added is the default
  connections list | delete <name>

Remote mode, chosen when an API URL is set (--api-url, KILN_API_URL or ITTYBIT_API_URL) and
--local is not: unlike Ittybit, an API key alone does not switch to remote, as there is no
hosted Kiln to default to. The key: --api-key, KILN_API_KEY or ITTYBIT_API_KEY.
  uploads a local -i, submits the job, shows progress, waits and downloads to -o;
  -i and -o may also be s3://bucket/key through a connection.
  --metadata key=value     attach your own data (repeatable)
  --webhook-url <url>      receive the finished job, signed
  --async                  print the job at once instead of waiting
  --connection <name|id>   the connection for s3:// paths (else the default connection)
  --api-url, --api-key     the API and its key, overriding the environment
  connections add s3 --name <name> --endpoint <url> --access-key-id <id>
                  --secret-access-key <secret> [--region auto] [--default]
  Snake-case spellings (--webhook_url, --api_url, --api_key, --access_key_id,
  --secret_access_key) are accepted too.

Examples:
  kiln video -i clip.mov -o clip-hd.mp4 --width 1920 --quality high
  kiln image -i clip.mov -o clip-thumb.webp --start 2 --width 640
  kiln image -i photo.png -o photo-full.webp --width 1920 --quality high
  kiln image -i photos/*.jpg -o web/ --width 1920 --format webp
  kiln image -i photo.jpg -o photo.webp -o photo.avif -o photo.jpg --width 1280
  kiln recipe upload.json -i clip.mov -o hd.mp4 -o thumb.webp -o preview.mp4
  kiln task probe -i '{"url":"https://example.com/clip.mov"}' --json | jq '.output'
`;

export type OutputMode = 'json' | 'tty';

export interface ParsedCli {
  command: Command | null;
  /** Words after the command: `jobs <id>`, `connections delete <id>`, `task <kind>`. */
  args: string[];
  /** The first input, the one every single-input command takes. */
  input?: string | undefined;
  /** The first output, the one every single-output command takes. */
  output?: string | undefined;
  /** Every input: -i repeated or followed by more paths (a shell glob), for a batch. */
  inputs: string[];
  /** Several inputs, or a pattern to expand: each input is encoded on its own into the -o folder. */
  batch: boolean;
  /** Every -o: a batch's folder, or one input's several outputs. */
  outputs: string[];
  /** Per output in `outputs`, the format its extension implies (for a single input). */
  outputFormats: (string | undefined)[];
  /** Inputs encoded at once in a batch; undefined means one per core. */
  concurrency?: number | undefined;
  options: Record<string, unknown>;
  /** `--json` or `--tty` as given; undefined lets main pick by whether stdout is a terminal. */
  mode: OutputMode | undefined;
  /** Whether to print JSON Lines; main settles it from `mode` and whether stdout is a terminal. */
  json: boolean;
  debug: boolean;
  local: boolean;
  help: boolean;
  metadata: string[];
  webhookUrl?: string | undefined;
  async: boolean;
  connection?: string | undefined;
  apiUrl?: string | undefined;
  apiKey?: string | undefined;
  /** The raw flags for the API commands (jobs, connections), with kebab-case spellings folded into snake_case. */
  flags: Record<string, string | boolean | string[] | undefined>;
}

/** A command-line mistake: printed as `invalid_input: …` with exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * An option no command takes. cli/main.ts words the message with the command's own options
 * (cli/help.ts), which come from the zod schemas: loading them here would slow every start.
 */
export class UnknownOptionError extends UsageError {
  override name = 'UnknownOptionError';
  /** As typed, with its dashes: `--widht`. */
  readonly option: string;
  readonly command: Command | null;
  /** The kind of `kiln task <kind>`, whose options apply. */
  readonly taskKind: string | undefined;
  constructor(option: string, command: Command | null, taskKind: string | undefined) {
    super(`Unknown option ${option}; see kiln${command ? ` ${command}` : ''} --help`);
    this.option = option;
    this.command = command;
    this.taskKind = taskKind;
  }
}

/**
 * Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
 * neighbours each count 1, so `widht` is 1 from `width`.
 */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate nearest to a mistyped word, or undefined when none is close: at most one edit
 * for words of up to four letters, two for longer ones, so `--fit` is not offered for `--foo`.
 *
 * @example
 * closest('widht', ['width', 'height']); // 'width'
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const limit = word.length <= 4 ? 1 : 2;
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate);
    if (distance <= limit && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/**
 * The `format` option implied by an output path, or undefined when the extension says nothing.
 *
 * @example
 * formatFromOutput('image', 'thumb.webp'); // 'webp'
 */
export function formatFromOutput(kind: JobKind, output: string): string | undefined {
  return formatForExtension(kind, extname(output).slice(1).toLowerCase());
}

function number(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) {
    throw new UsageError(`Expected a number for --${flag} but received "${raw}"`);
  }
  return value;
}

function dimension(flag: string, raw: string | undefined): number | string | undefined {
  if (raw === undefined) return undefined;
  return raw.trim().endsWith('%') ? raw.trim() : number(flag, raw);
}

/** A flag's value under either spelling; the two spellings with different values are a mistake. */
function either(values: Record<string, unknown>, snake: keyof typeof SPELLINGS): string | undefined {
  const kebab = SPELLINGS[snake];
  const a = values[snake] as string | undefined;
  const b = values[kebab] as string | undefined;
  if (a !== undefined && b !== undefined && a !== b) {
    throw new UsageError(`--${kebab} and --${snake} are the same flag; give it once`);
  }
  return b ?? a;
}

/** A parse that only asks for help: nothing else on the line is read. */
const HELP_ONLY: ParsedCli = {
  command: null,
  args: [],
  inputs: [],
  batch: false,
  outputs: [],
  outputFormats: [],
  options: {},
  mode: undefined,
  json: false,
  debug: false,
  local: false,
  help: true,
  metadata: [],
  async: false,
  flags: {},
};

/** How many words each command takes after its name. */
const MAX_ARGS: Record<Command, number> = {
  video: 0,
  image: 0,
  audio: 0,
  animation: 0,
  adaptive_video: 0,
  recipe: 1,
  probe: 0,
  task: 1,
  jobs: 2,
  connections: 2,
  health: 0,
  login: 0,
};

/**
 * Joins a negative number to the flag before it (`--target_lufs -16` → `--target_lufs=-16`), as
 * Ittybit's guides write it: node's parser refuses a value that starts with "-" as ambiguous.
 */
function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (/^--[\w-]+$/.test(arg) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** Whether a local input is a pattern for kiln to expand (`'photos/*.jpg'`, quoted so the shell did not). */
export function isGlob(input: string): boolean {
  return /[*?[]/.test(input) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(input);
}

/** Most inputs a batch encodes at once: more only thrash the disk and memory. */
export const MAX_CONCURRENCY = 64;

/** The format `output`'s extension implies for an encode, when --format was not given; refuses an extension that says nothing. */
function impliedFormat(kind: string | null | undefined, output: string, format: unknown): string | undefined {
  if (!isEncodeKind(kind) || format !== undefined || writesFolder(kind)) return undefined;
  const inferred = formatFromOutput(kind, output);
  if (inferred === undefined && !output.startsWith('s3://')) {
    throw new UsageError(`Cannot tell the format from "${output}"; add --format or use a known extension`);
  }
  return inferred;
}

/**
 * Parses argv (without `node` and the script) into a command and job options.
 *
 * @example
 * parseCli(['image', '-i', 'a.png', '-o', 'b.webp', '--width', '640']).options; // { width: 640, format: 'webp' }
 */
export function parseCli(argv: string[]): ParsedCli {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  const args = joinNegativeValues(argv);
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    const unknown = /^Unknown option '([^']+)'/.exec((err as Error).message)?.[1];
    if (unknown !== undefined) {
      // Parsed again, leniently, only to learn which command's options to suggest from.
      const { positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: false });
      throw new UnknownOptionError(unknown, COMMANDS[positionals[0] ?? ''] ?? null, positionals[1]);
    }
    // Node's message goes on to explain `--` positionals, which is noise for kiln users.
    const first = (err as Error).message.split(/\.\s/)[0] ?? 'Invalid arguments';
    throw new UsageError(`${first}; see kiln --help`);
  }
  const { values, positionals } = parsed;
  const word = positionals[0];
  const command = word === undefined ? null : COMMANDS[word];
  if (word !== undefined && command === undefined) {
    const near = closest(word, Object.keys(COMMANDS));
    const hint = near ? `; did you mean ${near}?` : `; expected one of ${Object.keys(COMMANDS).join(', ')}`;
    throw new UsageError(`Unknown command "${word}"${hint}`);
  }
  // `kiln video --help` prints the command's help whatever else the line holds.
  if (values.help) return { ...HELP_ONLY, command: command ?? null, args: positionals.slice(1), help: true };
  const inputs = [...(values.input ?? [])];
  // `-i a.jpg b.jpg` (or a shell-expanded `-i *.jpg`): node's parser leaves b.jpg as a word.
  if (isEncodeKind(command) && inputs.length > 0) inputs.push(...positionals.splice(1));
  const outputs = values.output ?? [];
  const maxArgs = command ? MAX_ARGS[command] : 0;
  if (positionals.length > maxArgs + 1) {
    throw new UsageError(`Unexpected argument "${positionals[maxArgs + 1]}"; see kiln --help`);
  }
  if (values.json && values.tty) throw new UsageError('--json and --tty contradict each other; give one');
  const taskKind = command === 'task' ? positionals[1] : undefined;
  if (command === 'task' && !TASK_KINDS.includes(taskKind as TaskKindName)) {
    const got = taskKind === undefined ? 'nothing' : `"${taskKind}"`;
    throw new UsageError(`Expected kiln task <kind> with a kind of ${TASK_KINDS.join(', ')} but received ${got}`);
  }
  const options: Record<string, unknown> = {
    width: dimension('width', values.width),
    height: dimension('height', values.height),
    fit: values.fit,
    position: values.position,
    background: values.background,
    quality: values.quality,
    start: number('start', values.start),
    end: number('end', values.end),
    fps: number('fps', values.fps),
    frames: number('frames', values.frames),
    codec: values.codec,
    format: values.format,
    bitrate: number('bitrate', values.bitrate),
    // Ittybit's --no-audio is Kiln's `mute` option.
    mute: values.mute || values['no-audio'] || undefined,
    normalize: values.normalize,
    target_lufs: number('target_lufs', values.target_lufs),
    waveform: values.waveform,
    waveform_points: number('waveform_points', values.waveform_points),
  };
  for (const key of Object.keys(options)) if (options[key] === undefined) delete options[key];
  if (!isEncodeKind(command) && inputs.length > 1) throw new UsageError(`kiln ${word} takes one -i`);
  if (!isEncodeKind(command) && command !== 'recipe' && outputs.length > 1) throw new UsageError(`kiln ${word} takes one -o`);
  const batch = inputs.length > 1 || inputs.some(isGlob);
  if (batch && outputs.length > 1) {
    throw new UsageError('Several inputs write into one folder: give one -o <folder>, or run each input with its own -o flags');
  }
  if (outputs.length > 1 && isEncodeKind(command) && writesFolder(command))
    throw new UsageError(`kiln ${word} writes a folder: give one -o`);
  const concurrency = number('concurrency', values.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY)) {
    throw new UsageError(`Expected --concurrency to be a whole number from 1 to ${MAX_CONCURRENCY} but received "${values.concurrency}"`);
  }
  const encodeKind = command === 'task' ? taskKind : command;
  // A batch's -o is a folder, so its name says nothing about the format.
  const outputFormats = batch ? [] : outputs.map((output) => impliedFormat(encodeKind, output, options.format));
  if (options.format === undefined && outputFormats[0] !== undefined) options.format = outputFormats[0];
  const flags: ParsedCli['flags'] = { ...values };
  for (const snake of Object.keys(SPELLINGS) as (keyof typeof SPELLINGS)[]) {
    flags[snake] = either(values, snake);
    delete flags[SPELLINGS[snake]];
  }
  return {
    command: command ?? null,
    args: positionals.slice(1),
    input: inputs[0],
    output: outputs[0],
    inputs,
    batch,
    outputs,
    outputFormats,
    concurrency,
    options,
    mode: values.json ? 'json' : values.tty ? 'tty' : undefined,
    json: values.json ?? false,
    debug: values.debug ?? false,
    local: values.local ?? false,
    help: values.help ?? false,
    metadata: values.metadata ?? [],
    webhookUrl: flags.webhook_url as string | undefined,
    async: values.async ?? false,
    connection: values.connection,
    apiUrl: flags.api_url as string | undefined,
    apiKey: flags.api_key as string | undefined,
    flags,
  };
}
