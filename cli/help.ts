/**
 * Each command's own help (`kiln video --help`) and the hint for a mistyped option, with the job
 * options read from the zod schemas the API and the processor validate with (schemas/options.ts),
 * so a range, an allowed value or a default changed there shows here. Built when asked, not at
 * build time: the source fallback of bin/kiln.js then needs no second way to get it, and zod
 * (about 0.15 s to load) is paid only by these two paths, never by `kiln --help`.
 */
import { type JsonSchema, objectSchema } from '../schemas/json-schema.ts';
import { type JobKind, OptionsByKind } from '../schemas/options.ts';
import { COMMANDS, type Command, closest, isEncodeKind, OPTIONS, TASK_KINDS, type UnknownOptionError, USAGE } from './args.ts';

/** A flag as help shows it: its spellings, its value (none for a switch), and lines on what it takes and does. */
interface Flag {
  names: string[];
  value: string;
  about: string[];
}

/** The name a user types for each command: its first spelling in COMMANDS (`adaptive`, not `adaptive_video`). */
const WORD = Object.fromEntries(
  Object.entries(COMMANDS)
    .reverse()
    .map(([word, command]) => [command, word]),
) as Record<Command, string>;

/** What each command does and how it is written; the encode kinds' options come from their schemas. */
const ABOUT: Record<Command, { summary: string; usage: string[] }> = {
  video: { summary: 'MP4 (H.264/H.265/AV1), MOV or WebM (VP9/AV1)', usage: ['kiln video -i <file|URL|s3://…> [-o <file>] [options]'] },
  image: {
    summary: 'JPEG, PNG, WebP or AVIF from an image or a video frame (--start picks the frame)',
    usage: ['kiln image -i <file|URL|s3://…> [-o <file>] [options]'],
  },
  audio: { summary: 'MP3, AAC (.m4a), Ogg Vorbis, Opus, WAV or FLAC', usage: ['kiln audio -i <file|URL|s3://…> [-o <file>] [options]'] },
  animation: {
    summary: 'GIF or animated WebP from a stretch of video',
    usage: ['kiln animation -i <file|URL|s3://…> [-o <file>] [options]'],
  },
  adaptive_video: {
    summary: 'an HLS ladder; -o is a folder (or a path ending in .m3u8)',
    usage: ['kiln adaptive -i <file|URL|s3://…> [-o <folder>] [options]'],
  },
  recipe: {
    summary: 'several outputs of any kinds from one input in one pass; the recipe is a POST /jobs/batch body',
    usage: [
      "kiln recipe <recipe.json | - | '<json>'> -i <file|URL|s3://…> [-o <file> once per output | -o <folder>]",
      'recipe: {"outputs": [{"kind": "video", "options": {…}}, {"kind": "image", "options": {…}}, …]} (2–8 outputs;',
      '"input" may be left out when -i gives it; an output\'s own "output": "s3://…" is where it goes)',
      "without -o: <input name>-<n>.<ext> here (remote: each output's URL is printed)",
    ],
  },
  probe: { summary: 'print what Kiln knows about a file (always on this machine)', usage: ['kiln probe -i <file|URL|s3://…>'] },
  task: {
    summary: 'one step on its own: probe or import -i \'{"url":"…"}\'; an encode kind -i \'<file object>\'; export -o s3://…',
    usage: ["kiln task <kind> -i '<json>' [-o <file|s3://…>] [options]", `kinds: ${TASK_KINDS.join(', ')}`],
  },
  jobs: {
    summary: 'list your jobs, newest first, show one, or submit a POST /jobs body as it stands (remote)',
    usage: [
      'kiln jobs [--kind <kind>] [--status <status>] [--after <id>] [--before <id>] [--limit <n>]',
      'kiln jobs <job_id>',
      "kiln jobs create --body <file.json | - | '<json>'> [--async]",
    ],
  },
  connections: {
    summary: "S3 credentials for s3:// paths: saved on this machine, or the API's when remote",
    usage: [
      'kiln connections list',
      'kiln connections add s3 --name <name> --access-key-id <id> --secret-access-key <secret> [--endpoint <url>] [--region <region>] [--default]',
      'kiln connections delete <name|id>',
    ],
  },
  health: { summary: 'check ffmpeg, ffprobe and sharp here, and the API when one is set', usage: ['kiln health'] },
  login: { summary: 'Kiln has no browser login: prints how to set KILN_API_URL and KILN_API_KEY', usage: ['kiln login'] },
};

const flag = (names: string[], value: string, about: string): Flag => ({ names, value, about: [about] });

/** Flags every command takes. */
const COMMON: Flag[] = [
  flag(['--json'], '', 'JSON Lines on stdout (the default when stdout is not a terminal)'),
  flag(['--tty'], '', 'text for a person (the default on a terminal)'),
  flag(['--debug'], '', 'print each ffmpeg command (local) or API request (remote) on stderr'),
  flag(['--local'], '', 'run on this machine even when an API URL is set'),
  flag(['--api-url', '--api_url'], '<url>', 'the Kiln API for remote mode (else KILN_API_URL or ITTYBIT_API_URL)'),
  flag(['--api-key', '--api_key'], '<key>', 'its key (else KILN_API_KEY or ITTYBIT_API_KEY)'),
  flag(['-h', '--help'], '', 'this help'),
];

/** Flags of a job sent to the API. */
const REMOTE_JOB: Flag[] = [
  flag(['--metadata'], '<key=value>', 'remote: attach your own data (repeatable)'),
  flag(['--webhook-url', '--webhook_url'], '<url>', 'remote: receive the finished job, signed'),
  flag(['--async'], '', 'remote: print the job at once instead of waiting'),
  flag(['--connection'], '<name|id>', 'the connection for s3:// paths'),
];

/** Flags of each command other than the job options. */
const OWN: Record<Command, Flag[]> = {
  ...(Object.fromEntries(
    ['video', 'image', 'audio', 'animation', 'adaptive_video'].map((kind) => [
      kind,
      [
        flag(['-i', '--input'], '<file|URL|s3://…>', 'the input; several (or a quoted glob) make a batch, on this machine'),
        flag(['-o', '--output'], kind === 'adaptive_video' ? '<folder>' : '<file>', 'where to write; its extension picks --format'),
        flag(['--concurrency'], '<n>', 'a batch: inputs encoded at once (default: the number of cores; at most 64)'),
        ...REMOTE_JOB,
      ],
    ]),
  ) as Record<JobKind, Flag[]>),
  recipe: [
    flag(['-i', '--input'], '<file|URL|s3://…>', 'the input every output is made from'),
    flag(['-o', '--output'], '<file|folder>', 'once per output, in recipe order, or once as a folder'),
    flag(['--connection'], '<name|id>', 'the connection for s3:// paths'),
    flag(['--async'], '', 'remote: print the jobs at once instead of waiting'),
  ],
  probe: [flag(['-i', '--input'], '<file|URL|s3://…>', 'the file'), flag(['--connection'], '<name>', 'the connection for an s3:// input')],
  task: [
    flag(['-i', '--input'], "'<json>'", '{"url":…} or a file object (a probe\'s output)'),
    flag(['-o', '--output'], '<file|s3://…>', 'where to write an encode; export: the s3:// destination'),
    ...REMOTE_JOB,
  ],
  jobs: [
    flag(['--kind'], '<kind>', 'only jobs of this kind'),
    flag(['--status'], '<status>', 'only jobs in this status'),
    flag(['--after', '--before'], '<job_id>', 'page from this job on'),
    flag(['--limit'], '<n>', 'how many (default 10)'),
    flag(['--body'], "<file.json | - | '<json>'>", 'jobs create: the POST /jobs body'),
    flag(['--async'], '', 'jobs create: print the job at once instead of waiting'),
  ],
  connections: [
    flag(['--name'], '<name>', 'what to call it'),
    flag(['--endpoint'], '<url>', 'the S3 endpoint (none: AWS S3)'),
    flag(['--region'], '<region>', 'its region (default auto, us-east-1 for AWS)'),
    flag(['--access-key-id', '--access_key_id'], '<id>', 'the access key id'),
    flag(['--secret-access-key', '--secret_access_key'], '<secret>', 'the secret, never printed'),
    flag(['--default'], '', 'use it when none is named'),
  ],
  health: [],
  login: [],
};

const number = (n: number) => n.toLocaleString('en-US');

/** A flag's value as the head of its help shows it: the allowed values when they are few, else a placeholder. */
function placeholder(s: JsonSchema): string {
  if (s.type === 'boolean') return '';
  if (s.anyOf) return `<${s.anyOf.map((member) => placeholder(member).slice(1, -1)).join('|')}>`;
  if (s.enum) return `<${s.enum.map(String).join('|')}>`;
  if (s.type === 'integer' || s.type === 'number') return '<n>';
  return s.type === 'string' ? '<text>' : '<value>';
}

/** What a schema accepts, in a line; nothing when the placeholder already says it. */
function accepts(s: JsonSchema): string {
  if (s.anyOf) return s.anyOf.map(accepts).join(', or ');
  if (s.enum) return s.enum.map(String).join(' | ');
  switch (s.type) {
    case 'integer':
    case 'number': {
      const what = s.type === 'integer' ? 'whole number' : 'number';
      if (s.minimum !== undefined && s.maximum !== undefined) return `${what} ${number(s.minimum)} to ${number(s.maximum)}`;
      if (s.maximum !== undefined) return `${what} at most ${number(s.maximum)}`;
      return what;
    }
    case 'boolean':
      return '';
    case 'string':
      return s.pattern ? `text matching ${s.pattern}` : 'text';
    default:
      return 'any value';
  }
}

/**
 * The CLI flags that set `kind`'s job options, from its schema: the options the CLI has a flag
 * for, except those Kiln refuses (Ittybit's, described "Not supported: …" in schemas/options.ts),
 * which a user looking for what to type has no use for.
 */
function optionFlags(kind: JobKind): Flag[] {
  const object = objectSchema(OptionsByKind[kind]);
  const flags: Flag[] = [];
  for (const [name, field] of Object.entries(object.properties ?? {})) {
    if (!(name in OPTIONS) || field.description?.startsWith('Not supported')) continue;
    // Ittybit's --no-audio sets the `mute` option.
    const names = name === 'mute' ? ['--mute', '--no-audio'] : [`--${name}`];
    const value = placeholder(field);
    const about = [field.enum ? '' : accepts(field), field.description ?? ''].filter(Boolean);
    flags.push({ names, value, about });
  }
  return flags;
}

const JOB_KINDS = Object.keys(OptionsByKind) as JobKind[];

/** Every flag `command` takes; a task's are its kind's, or every encode kind's when the kind is not known; every command's with none. */
function flagsOf(command: Command | null, taskKind: string | undefined): Flag[] {
  if (command === null) return [...COMMON, ...Object.values(OWN).flat(), ...JOB_KINDS.flatMap(optionFlags)];
  const kinds = isEncodeKind(command) ? [command] : command === 'task' ? (isEncodeKind(taskKind) ? [taskKind] : JOB_KINDS) : [];
  return [...OWN[command], ...kinds.flatMap(optionFlags), ...COMMON];
}

/**
 * The long flags (without dashes) `command` takes, which an unknown option is matched against.
 *
 * @example
 * flagNames('audio').includes('target_lufs'); // true
 */
export function flagNames(command: Command | null, taskKind?: string): string[] {
  return flagsOf(command, taskKind).flatMap((f) => f.names.filter((n) => n.startsWith('--')).map((n) => n.slice(2)));
}

function table(flags: Flag[]): string[] {
  return flags.flatMap((f) => [`  ${f.names.join(', ')}${f.value ? ` ${f.value}` : ''}`, ...f.about.map((text) => `      ${text}`)]);
}

/**
 * `kiln <command> --help`: what the command does, how to write it, its own flags and, for the
 * encode kinds (and `kiln task <kind>`), every option with what it accepts and its default.
 *
 * @example
 * commandHelp('video'); // 'kiln video — MP4 (H.264/H.265/AV1), MOV or WebM (VP9/AV1)\n…--fps\n      number 1 to 60\n…'
 */
export function commandHelp(command: Command, taskKind?: string): string {
  const word = WORD[command];
  const about = ABOUT[command];
  const kind = isEncodeKind(command) ? command : command === 'task' && isEncodeKind(taskKind) ? taskKind : undefined;
  const lines = [
    `kiln ${word} — ${about.summary}`,
    '',
    'Usage:',
    ...about.usage.map((u) => `  ${u}`),
    '',
    'Options:',
    ...table(OWN[command]),
  ];
  if (kind) {
    lines.push(
      '',
      `Options of the ${WORD[kind]} job (checked as POST /jobs checks them; docs/api.md#${kind}):`,
      ...table(optionFlags(kind)),
    );
  } else if (command === 'task') {
    lines.push('', "An encode kind takes that kind's options: kiln task video --help lists them.");
  }
  lines.push('', 'Every command:', ...table(COMMON));
  const examples = USAGE.split('\n').filter((line) => line.startsWith(`  kiln ${word} `));
  if (examples.length) lines.push('', 'Examples:', ...examples);
  return `${lines.join('\n')}\n`;
}

/**
 * The message for an option `command` does not take: the nearest of its own flags when one is
 * close (`Unknown option --widht; did you mean --width?`), else where to look.
 */
export function unknownOptionMessage(err: Pick<UnknownOptionError, 'option' | 'command' | 'taskKind'>): string {
  const near = err.option.startsWith('--') ? closest(err.option.slice(2), flagNames(err.command, err.taskKind)) : undefined;
  const where = err.command ? `kiln ${WORD[err.command]}` : 'kiln';
  return near ? `Unknown option ${err.option}; did you mean --${near}?` : `Unknown option ${err.option} for ${where}; see ${where} --help`;
}
