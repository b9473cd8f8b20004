/**
 * Argument parsing and help text for the `kiln` CLI (docs/api.md#cli). Turns flags into the job options
 * object the processor validates, inferring `--format` from the `-o` extension.
 */
import { extname } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { formatForExtension, writesFolder } from '../schemas/formats.ts';
import type { JobKind } from '../schemas/options.ts';

export type Command = JobKind | 'probe' | 'jobs' | 'connections';

export const COMMANDS: Record<string, Command> = {
  video: 'video',
  image: 'image',
  audio: 'audio',
  animation: 'animation',
  adaptive: 'adaptive_video',
  adaptive_video: 'adaptive_video',
  probe: 'probe',
  jobs: 'jobs',
  connections: 'connections',
};

const OPTIONS = {
  input: { type: 'string', short: 'i' },
  output: { type: 'string', short: 'o' },
  width: { type: 'string' },
  height: { type: 'string' },
  fit: { type: 'string' },
  position: { type: 'string' },
  background: { type: 'string' },
  quality: { type: 'string' },
  start: { type: 'string' },
  end: { type: 'string' },
  fps: { type: 'string' },
  codec: { type: 'string' },
  format: { type: 'string' },
  bitrate: { type: 'string' },
  mute: { type: 'boolean' },
  normalize: { type: 'string' },
  target_lufs: { type: 'string' },
  // Passed on so the answer says why Kiln refuses them, instead of "unknown option".
  waveform: { type: 'string' },
  waveform_points: { type: 'string' },
  json: { type: 'boolean' },
  local: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  // Remote-mode flags (docs/api.md#cli); parsed here so both modes share one parser.
  metadata: { type: 'string', multiple: true },
  webhook_url: { type: 'string' },
  async: { type: 'boolean' },
  api_url: { type: 'string' },
  api_key: { type: 'string' },
  status: { type: 'string' },
  limit: { type: 'string' },
  endpoint: { type: 'string' },
  region: { type: 'string' },
  access_key_id: { type: 'string' },
  secret_access_key: { type: 'string' },
  default: { type: 'boolean' },
  // s3:// paths (docs/api.md#s3-in-local-mode): the connection to use, and `connections add s3` as Ittybit spells it.
  connection: { type: 'string' },
  name: { type: 'string' },
  'access-key-id': { type: 'string' },
  'secret-access-key': { type: 'string' },
} satisfies ParseArgsConfig['options'];

export const USAGE = `kiln — web-ready video, images and audio

Usage:
  kiln <command> -i <file or URL> -o <file> [options]
  kiln probe -i <file or URL> [--json]

Commands:
  video       MP4 (H.264/H.265/AV1), MOV or WebM (VP9/AV1)
  image       JPEG, PNG, WebP or AVIF from an image or a video frame
  audio       MP3, AAC (.m4a), Ogg Vorbis, Opus, WAV or FLAC
  animation   GIF or animated WebP from a stretch of video (--end defaults to --start + 5 s)
  adaptive    HLS ladder; -o is a directory (or a path ending in .m3u8)
  probe       print what Kiln knows about a file
  jobs [id]   list your jobs (--status, --limit) or show one           (remote)
  connections add|list|delete   S3 credentials for s3:// paths (saved here; the API's when remote)

Options:
  -i, --input <path|url>   input file, or an http(s) URL to download first
  -o, --output <path>      output file; its extension picks --format
  --width, --height <n|n%> pixels or a percentage; one keeps the aspect ratio; never upscales
                           unless both are given with --fit
  --fit <contain|cover|fill>  how to fill width × height (default contain)
  --position <center|top|bottom|left|right|top_left|...>  anchor for cover/contain
  --background <#rrggbb>   padding colour for contain
  --quality <very_low|low|medium|high|very_high|auto>  (default medium; auto is medium)
  --start, --end <s>       seconds; for image, --start is the frame time
  --fps <n>                frames per second (video 1–60, animation 1–60, gif at most 50)
  --codec <h264|h265|vp9|av1>   video codec
  --format <name>          output format when -o has no telling extension
  --bitrate <bps>          video bitrate cap or audio bitrate
  --mute                   drop the audio track (video)
  --normalize lufs         audio: normalise loudness to --target_lufs (default -16 LUFS)
  --target_lufs <n>        audio: loudness target, -70 to -5 (podcasts -16, music -14)
  --json                   machine-readable output on stdout
  --local                  run on this machine (default when KILN_API_URL is unset)
  --connection <name>      the connection for s3:// paths (else KILN_CONNECTION or ITTYBIT_CONNECTION,
                           else the default connection, else AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
                           AWS_SESSION_TOKEN, AWS_REGION, AWS_ENDPOINT_URL, else ~/.aws/credentials)
  -h, --help               show this help

S3 on this machine: -i and -o may be s3://bucket/key (an adaptive -o: s3://bucket/prefix/stream.m3u8);
  connections add s3 --name <name> --access-key-id <id> --secret-access-key <secret>
                  [--endpoint <url>] [--region <region>] [--default]
                  saved in $XDG_CONFIG_HOME/kiln/connections.json (~/.config/kiln), mode 0600;
                  no --endpoint means AWS S3; the first connection added is the default
  connections list | delete <name>

Remote mode (KILN_API_URL and KILN_API_KEY, or --api_url and --api_key):
  uploads a local -i, submits the job, shows progress, waits and downloads to -o;
  -i and -o may also be s3://bucket/key through a connection.
  --metadata key=value     attach your own data (repeatable)
  --webhook_url <url>      receive the finished job, signed
  --async                  print the job at once instead of waiting
  connections add --endpoint <url> --access_key_id <id> --secret_access_key <secret>
                  [--region auto] [--default]

Examples:
  kiln video -i clip.mov -o clip-hd.mp4 --width 1920 --quality high
  kiln image -i clip.mov -o clip-thumb.webp --start 2 --width 640
  kiln image -i photo.png -o photo-full.webp --width 1920 --quality high
`;

export interface ParsedCli {
  command: Command | null;
  /** Words after the command: `jobs <id>`, `connections delete <id>`. */
  args: string[];
  input?: string | undefined;
  output?: string | undefined;
  options: Record<string, unknown>;
  json: boolean;
  local: boolean;
  help: boolean;
  metadata: string[];
  webhookUrl?: string | undefined;
  async: boolean;
  apiUrl?: string | undefined;
  apiKey?: string | undefined;
  /** `--connection`: which local connection signs s3:// paths. */
  connection?: string | undefined;
  /** The raw flags, for the remote-only commands (jobs, connections). */
  flags: Record<string, string | boolean | string[] | undefined>;
}

/** A command-line mistake: printed as `invalid_input: …` with exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
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

/**
 * Parses argv (without `node` and the script) into a command and job options.
 *
 * @example
 * parseCli(['image', '-i', 'a.png', '-o', 'b.webp', '--width', '640']).options; // { width: 640, format: 'webp' }
 */
export function parseCli(argv: string[]): ParsedCli {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv), options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    // Node's message goes on to explain `--` positionals, which is noise for kiln users.
    const first = (err as Error).message.split(/\.\s/)[0] ?? 'Invalid arguments';
    throw new UsageError(`${first}; see kiln --help`);
  }
  const { values, positionals } = parsed;
  const word = positionals[0];
  const command = word === undefined ? null : COMMANDS[word];
  if (word !== undefined && command === undefined) {
    throw new UsageError(`Unknown command "${word}"; expected one of video, image, audio, animation, adaptive, probe, jobs, connections`);
  }
  const takesArgs = command === 'jobs' || command === 'connections';
  if (positionals.length > (takesArgs ? 3 : 1)) {
    throw new UsageError(`Unexpected argument "${positionals[takesArgs ? 3 : 1]}"; see kiln --help`);
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
    codec: values.codec,
    format: values.format,
    bitrate: number('bitrate', values.bitrate),
    mute: values.mute,
    normalize: values.normalize,
    target_lufs: number('target_lufs', values.target_lufs),
    waveform: values.waveform,
    waveform_points: number('waveform_points', values.waveform_points),
  };
  for (const key of Object.keys(options)) if (options[key] === undefined) delete options[key];
  const encodes = command !== undefined && command !== null && command !== 'probe' && command !== 'jobs' && command !== 'connections';
  if (encodes && options.format === undefined && values.output && !writesFolder(command)) {
    const inferred = formatFromOutput(command, values.output);
    if (inferred) options.format = inferred;
    else if (!values.output.startsWith('s3://')) {
      throw new UsageError(`Cannot tell the format from "${values.output}"; add --format or use a known extension`);
    }
  }
  return {
    command: command ?? null,
    args: positionals.slice(1),
    input: values.input,
    output: values.output,
    options,
    json: values.json ?? false,
    local: values.local ?? false,
    help: values.help ?? false,
    metadata: values.metadata ?? [],
    webhookUrl: values.webhook_url,
    async: values.async ?? false,
    apiUrl: values.api_url,
    apiKey: values.api_key,
    connection: values.connection,
    flags: values,
  };
}
