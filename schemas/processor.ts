import { z } from 'zod';
import { ErrorBody } from './errors.ts';
import { MediaInfo } from './file.ts';
import { ID_MAX_CHARS, NAME_MAX_CHARS } from './job.ts';
import { JobKind } from './options.ts';

/**
 * The contract between the Worker and the processor. The processor never holds credentials: it
 * gets a URL to read, presigned URLs to write, and a callback URL with a per-attempt token.
 */

/** Shortest PROCESSOR_SECRET (KILN_PROCESSOR_SECRET in the processor) either side accepts: shorter ones are guessable. */
export const MIN_SECRET_LENGTH = 16;

/** Longest URL in a task: an input or output of URL_MAX_CHARS plus its presigned query string, with room to spare. */
export const TASK_URL_MAX_CHARS = 16_384;
const taskUrl = z.url().max(TASK_URL_MAX_CHARS);

/** Longest callback token: the Worker mints 64 hex digits. */
export const CALLBACK_TOKEN_MAX_CHARS = 256;

/**
 * Longest text the processor may report (an error message, a note): its messages quote at most a
 * few hundred characters of ffmpeg or sharp output, so a longer one is a bug, not a user's problem.
 */
export const REPORT_TEXT_MAX_CHARS = 16_384;
/** Most notes one run may report; a run adds one or two. */
export const MAX_REPORT_NOTES = 64;

/**
 * Lifetime of the presigned URLs the Worker hands the processor, in seconds. The processor's
 * longest run fits inside it (container/limits.ts caps KILN_MAX_PROCESSING_S below it), and a run
 * that waited for a slot asks for fresh URLs at its start (`refresh_url`), so no URL expires
 * during a run however long the task waited.
 */
export const PRESIGNED_URL_TTL_S = 6 * 60 * 60;

/**
 * A job id as worker/utils/ids.ts mints it. The processor names its temp folder after it, so
 * nothing but these characters may reach the filesystem.
 */
export const ProcessorJobId = z
  .string()
  .max(ID_MAX_CHARS)
  .regex(/^job_[0-9a-z]{26}$/, 'Expected a job id such as job_01jd…');

/**
 * What a run does: encode to one of the job kinds, or one of the standalone task steps (POST
 * /tasks). `probe` reads the input and reports its MediaInfo without writing anything (output
 * `{type: 'none'}`); `copy` checks the input is media it can read and writes its bytes unchanged
 * to the output file (an `import` into Kiln's storage, or an `export` to a connection's bucket).
 */
export const RunKind = z.enum([...JobKind.options, 'probe', 'copy']);
export type RunKind = z.infer<typeof RunKind>;

/**
 * The master playlist's name in a folder output: a plain file name ending in .m3u8 at the
 * folder's top, where no rendition's subfolder can clash with it.
 */
export const PlaylistName = z
  .string()
  .max(200)
  .regex(/^[A-Za-z0-9_-][A-Za-z0-9_.-]*\.m3u8$/, 'Expected a file name such as master.m3u8');

export const ProcessorTask = z.object({
  job_id: ProcessorJobId,
  attempt: z.number().int().min(1),
  kind: RunKind,
  options: z.record(z.string().max(NAME_MAX_CHARS), z.unknown()),
  input_url: taskUrl,
  // A Worker older than the `type` field sends `{url}` or `{files_url}` alone (a rolling deploy, or
  // a self-hosted processor upgraded first): infer it, so those tasks still run.
  output: z.preprocess(
    (o) => (o && typeof o === 'object' && !('type' in o) ? { ...o, type: 'files_url' in o ? 'folder' : 'file' } : o),
    z.discriminatedUnion('type', [
      z.object({ type: z.literal('none') }).describe('A probe run writes nothing.'),
      z.object({ type: z.literal('file'), url: taskUrl.describe('Presigned PUT URL for the encoded file.') }),
      z.object({
        type: z.literal('folder'),
        files_url: taskUrl.describe(
          'Multi-file outputs (HLS): POST an OutputFilesRequest here, with the callback token, for one PUT URL per file.',
        ),
        main: PlaylistName.optional().describe("The master playlist's name (default master.m3u8)."),
      }),
    ]),
  ),
  callback: z.object({
    url: taskUrl,
    // The run sends it back as `Authorization: Bearer <token>`: a token no header can carry would
    // let a run start that can never report. The Worker mints 64 hex characters.
    token: z
      .string()
      .min(16)
      .max(CALLBACK_TOKEN_MAX_CHARS)
      .regex(/^[\x21-\x7e]+$/, 'Expected printable ASCII without spaces'),
  }),
  // Optional: a Worker older than it does not send it, and its tasks run with the URLs they carry.
  refresh_url: taskUrl
    .optional()
    .describe('A run that waited for a slot POSTs a FreshUrlsRequest here, with the callback token, for new input_url and output.'),
});
export type ProcessorTask = z.infer<typeof ProcessorTask>;

/** Most jobs one coalesced run carries: one upload's usual outputs, with room to spare. */
export const MAX_GROUP_TASKS = 8;

/**
 * Several jobs of one tenant on the same input, run as one (`POST /run-group` on the processor):
 * one download, one probe, one decode feeding every encoder. Each task keeps its own output,
 * callback and token and reports on its own, so one output failing or being cancelled leaves its
 * siblings running. The Worker groups only tasks that read the same object; the processor reads
 * `tasks[0].input_url`. The answer is the one `POST /run` gives (202, or 503 when no slot is free).
 */
export const ProcessorGroupTask = z.object({
  tasks: z
    .array(ProcessorTask)
    .min(2)
    .max(MAX_GROUP_TASKS)
    .refine((tasks) => new Set(tasks.map((t) => t.job_id)).size === tasks.length, 'Expected each job at most once in a group'),
});
export type ProcessorGroupTask = z.infer<typeof ProcessorGroupTask>;

export const FreshUrlsRequest = z.object({ attempt: z.number().int().min(1) });

/** The URLs of a run, minted again when it leaves the processor's backlog. */
export const FreshUrls = ProcessorTask.pick({ input_url: true, output: true });
export type FreshUrls = z.infer<typeof FreshUrls>;

/** A file name inside a multi-file output: relative, no `..`, no leading slash, plain characters. */
export const OutputFileName = z
  .string()
  .max(200)
  .regex(/^[A-Za-z0-9_-][A-Za-z0-9_.-]*(\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$/, 'Expected a relative file name such as 720p/seg_001.ts');

/** Upper bound on files per output: a 4 h HLS ladder in 4 s segments is about 15,000. */
export const MAX_OUTPUT_FILES = 20_000;

export const OutputFilesRequest = z.object({
  attempt: z.number().int().min(1),
  names: z.array(OutputFileName).min(1).max(MAX_OUTPUT_FILES),
});
export type OutputFilesRequest = z.infer<typeof OutputFilesRequest>;

export const OutputFilesResponse = z.object({ urls: z.record(z.string(), z.url()) });

/** A job's tasks, in the order it lists them (Ittybit's: probe first). */
export const TaskStage = z.enum(['probe', 'import', 'encode', 'export']);
export type TaskStage = z.infer<typeof TaskStage>;

/**
 * The order a run goes through the stages: the processor downloads the input (import) before it
 * probes it. What "an earlier stage" means when a later one reports or fails.
 */
export const RUN_ORDER: readonly TaskStage[] = ['import', 'probe', 'encode', 'export'];

/** Everything the processor tells the Worker about a run, one event per callback POST. */
export const ProcessorEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('progress'),
    attempt: z.number().int(),
    stage: TaskStage,
    progress: z.number().min(0).max(100),
    input: MediaInfo.optional().describe('Sent once the probe stage finishes.'),
  }),
  z.object({
    type: z.literal('succeeded'),
    attempt: z.number().int(),
    output: MediaInfo,
    name: OutputFileName.optional().describe('Multi-file outputs: the main file (the master playlist) among the uploaded files.'),
    notes: z
      .array(z.string().max(REPORT_TEXT_MAX_CHARS))
      .max(MAX_REPORT_NOTES)
      .optional()
      .describe('Adjustments the user should know about, e.g. a clamped start.'),
  }),
  z.object({
    type: z.literal('failed'),
    attempt: z.number().int(),
    stage: TaskStage,
    error: ErrorBody.extend({ message: ErrorBody.shape.message.max(REPORT_TEXT_MAX_CHARS) }),
  }),
  z
    .object({
      type: z.literal('given_back'),
      attempt: z.number().int(),
      stage: TaskStage,
      reason: z.string().max(REPORT_TEXT_MAX_CHARS).describe('Why the run stopped, e.g. "the processor is stopping (SIGTERM)".'),
    })
    .describe(
      'The processor is stopping (a container being stopped, Ctrl-C in development): the run was stopped and its files deleted, and the job should be queued again at once rather than after the heartbeat timeout.',
    ),
]);
export type ProcessorEvent = z.infer<typeof ProcessorEvent>;
