import { z } from 'zod';
import { ErrorBody } from './errors.ts';
import { FileObject, MediaInfo } from './file.ts';
import { JobKind, OptionsByKind } from './options.ts';

/** Job request and representation (docs/api.md#jobs): one source for validation, types and OpenAPI. */

export const METADATA_MAX_KEYS = 32;
/** Longest URL a request may name (input, output, webhook_url): above any real one, far below a body that could exhaust the Worker. */
export const URL_MAX_CHARS = 4096;
/** Longest id a request may name (`conn_…`, `job_…`): ids Kiln mints are 31 characters. */
export const ID_MAX_CHARS = 64;
/** Longest field name a request may use (option names are at most 10 characters). */
export const NAME_MAX_CHARS = 64;
export const METADATA_VALUE_MAX_CHARS = 2048;
/**
 * Metadata keys: Ittybit's documented `[A-Za-z0-9_]`, plus `-` and `.`, since keys such as
 * `user-id` or `app.version` are common and harmless (a filter names them as `metadata[user-id]`).
 */
export const METADATA_KEY_PATTERN = /^[A-Za-z0-9_.-]{1,32}$/;
export const METADATA_KEY_RULE = '1–32 letters, digits, underscores, hyphens or dots';

/** A metadata value: flat, so `metadata[key]=value` can filter on it and webhooks carry it as sent. */
export const MetadataValue = z.union([z.string().max(METADATA_VALUE_MAX_CHARS), z.number(), z.boolean()], {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? 'Expected a string, number or boolean (metadata is flat key-value pairs: nest nothing, or send the value as a JSON string)'
      : undefined,
});
export type MetadataValue = z.infer<typeof MetadataValue>;

export const Metadata = z
  .record(z.string().regex(METADATA_KEY_PATTERN, `Expected a key of ${METADATA_KEY_RULE}`), MetadataValue)
  .refine((m) => Object.keys(m).length <= METADATA_MAX_KEYS, {
    message: `Expected at most ${METADATA_MAX_KEYS} metadata keys`,
  })
  .describe('Your own key-value pairs (strings, numbers or booleans), echoed on the job and in webhooks.');

const inputUrl = z
  .string()
  .min(1)
  .max(URL_MAX_CHARS)
  .describe('https:// or http:// URL, s3://bucket/key (via a connection), or a Kiln file id/URL.');

export const JobCreate = z
  .strictObject({
    input: inputUrl,
    kind: JobKind,
    options: z.record(z.string().max(NAME_MAX_CHARS), z.unknown()).optional().describe('Per kind; see the *Options schemas.'),
    output: z
      .string()
      .max(URL_MAX_CHARS)
      .regex(/^s3:\/\/[^/]+\/.+/, 'Expected s3://bucket/key')
      .optional()
      .describe('Where to write the result; omitted → Kiln storage.'),
    connection_id: z
      .string()
      .min(1)
      .max(ID_MAX_CHARS)
      .optional()
      .describe('The id of one of your connections (`conn_…`); an id Kiln did not issue to you answers 400.'),
    metadata: Metadata.optional(),
    webhook_url: z.url().max(URL_MAX_CHARS).optional(),
  })
  .superRefine(checkOptions)
  .meta({ id: 'JobCreate' });
export type JobCreate = z.infer<typeof JobCreate>;

/** Validates `options` against its kind's schema, reporting each issue at `options.…`. */
function checkOptions(job: { kind: JobKind; options?: Record<string, unknown> | undefined }, ctx: z.RefinementCtx): void {
  const parsed = OptionsByKind[job.kind].safeParse(job.options ?? {});
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      ctx.addIssue({ ...issue, path: ['options', ...issue.path] } as z.core.$ZodRawIssue);
    }
  }
}

/**
 * Most outputs one multi-output request (POST /jobs/batch) may ask for: the processor's
 * MAX_GROUP_TASKS (schemas/processor.ts), so one request fits one run.
 */
export const MAX_BATCH_OUTPUTS = 8;

/** One output of a multi-output request: a job's own fields, without the input it shares. */
export const JobBatchOutput = z
  .strictObject({
    kind: JobCreate.shape.kind,
    options: JobCreate.shape.options,
    output: JobCreate.shape.output,
    metadata: JobCreate.shape.metadata,
    webhook_url: JobCreate.shape.webhook_url,
  })
  .superRefine(checkOptions)
  .meta({ id: 'JobBatchOutput' });
export type JobBatchOutput = z.infer<typeof JobBatchOutput>;

/**
 * A multi-output request (Kiln extension): one input, 2–8 outputs, one job per output, run
 * together in one processor run (one download, one decode).
 */
export const JobBatchCreate = z
  .strictObject({
    input: JobCreate.shape.input,
    connection_id: JobCreate.shape.connection_id,
    outputs: z
      .array(JobBatchOutput)
      .min(2)
      .max(MAX_BATCH_OUTPUTS)
      .describe('The outputs, each becoming one job; for a single output use POST /jobs.'),
  })
  .meta({ id: 'JobBatchCreate' });
export type JobBatchCreate = z.infer<typeof JobBatchCreate>;

export const JobStatus = z.enum(['queued', 'processing', 'succeeded', 'failed', 'cancelled']);
export type JobStatus = z.infer<typeof JobStatus>;

/** The statuses a job never leaves: its output or error is final and its webhook is due. */
export const TerminalStatus = JobStatus.extract(['succeeded', 'failed', 'cancelled']);
export type TerminalStatus = z.infer<typeof TerminalStatus>;

/**
 * Whether a job has finished, one way or another.
 *
 * @example
 * isTerminal('cancelled'); // true
 */
export function isTerminal(status: JobStatus): status is TerminalStatus {
  return TerminalStatus.safeParse(status).success;
}

export const TaskStatus = z.enum(['waiting', 'processing', 'succeeded', 'failed', 'cancelled']);
export type TaskStatus = z.infer<typeof TaskStatus>;

export const TaskKind = z.enum(['probe', 'import', 'video', 'image', 'audio', 'animation', 'adaptive_video', 'export']);
export type TaskKind = z.infer<typeof TaskKind>;

/** The task kinds that are steps of a job rather than an encode: standalone, each runs on its own (POST /tasks). */
export const StepKind = TaskKind.extract(['probe', 'import', 'export']);
export type StepKind = z.infer<typeof StepKind>;

/** A standalone probe, import or export as the job that runs it: no options; an export's destination is its `output`. */
export const StepCreate = z.strictObject({ ...JobCreate.shape, kind: StepKind }).omit({ options: true });
export type StepCreate = z.infer<typeof StepCreate>;

/** A file Kiln has not read yet, named by the URL it was given: the input of a probe or import task. */
export const ExternalFile = z
  .object({ object: z.literal('external_file'), url: z.string() })
  .meta({ id: 'ExternalFile', description: 'A file known only by its URL, as given.' });
export type ExternalFile = z.infer<typeof ExternalFile>;

/** A File as a caller hands it back to a task (the output of an earlier one): only its `url` is read, the rest is shown as sent. */
export const FileRef = FileObject.partial()
  .extend({ object: z.literal('file'), url: z.string().min(1).max(URL_MAX_CHARS) })
  .meta({ id: 'FileRef', description: 'A File object a task returned; only its url is read.' });
export type FileRef = z.infer<typeof FileRef>;

export const Task = z
  .object({
    id: z.string(),
    object: z.literal('task'),
    kind: TaskKind,
    status: TaskStatus,
    progress: z.number().describe('0–100 (Kiln extension; Ittybit shows null).'),
    input: z
      .union([ExternalFile, FileObject])
      .nullable()
      .describe('probe and import: the external_file; encode: the File the probe read; export: the encoded File. Null until known.'),
    options: z
      .record(z.string().max(NAME_MAX_CHARS), z.unknown())
      .describe("Empty for probe and import; the job's options for the encode; export: its s3:// destination, if any."),
    output: FileObject.nullable().describe('The File this step produced, once it succeeded.'),
    error: ErrorBody.nullable(),
    created_at: z.number().int(),
    started_at: z.number().int().nullable(),
    finished_at: z.number().int().nullable(),
    updated_at: z.number().int(),
  })
  .meta({ id: 'Task' });
export type Task = z.infer<typeof Task>;

export const Job = z
  .object({
    id: z.string(),
    object: z.literal('job'),
    kind: JobKind,
    status: JobStatus,
    input: z.string(),
    options: z.record(z.string().max(NAME_MAX_CHARS), z.unknown()),
    output: FileObject.nullable(),
    metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    webhook_url: z.string().nullable(),
    error: ErrorBody.nullable(),
    progress: z.number(),
    tasks: z.array(Task),
    created_at: z.number().int(),
    started_at: z.number().int().nullable(),
    finished_at: z.number().int().nullable(),
    updated_at: z.number().int(),
  })
  .meta({ id: 'Job' });
export type Job = z.infer<typeof Job>;

/**
 * A standalone task (POST /tasks). An encode task is the encode step of a job (`job_id`), whose
 * other steps run with it; a probe, import or export task runs on its own and has no job.
 */
export const StandaloneTask = Job.pick({
  progress: true,
  options: true,
  output: true,
  error: true,
  metadata: true,
  webhook_url: true,
  created_at: true,
  started_at: true,
  finished_at: true,
  updated_at: true,
})
  .extend({
    id: z.string(),
    object: z.literal('task'),
    kind: TaskKind,
    status: TaskStatus,
    input: z
      .union([z.string(), ExternalFile, FileRef])
      .describe('As sent: a `{url}` input is shown as an external_file, a File as that File, a string (older style) as that string.'),
    job_id: z.string().nullable().describe('The job an encode task belongs to; null for probe, import and export tasks.'),
  })
  .meta({ id: 'StandaloneTask' });
export type StandaloneTask = z.infer<typeof StandaloneTask>;

export { MediaInfo };

/** One entry of a job's history (GET /jobs/{id}/events): runs started, deferred, lost, and the end. */
export const JobEvent = z
  .object({
    at: z.number().int().describe('Unix milliseconds.'),
    type: z
      .string()
      .describe(
        'created, run_started, run_deferred (processor busy or unreachable), run_lost (silent processor), run_given_back (a stopping processor gave the run back), queue_resend, succeeded, failed, cancelled, webhook_gave_up.',
      ),
    detail: z.unknown().describe('What the event concerns, e.g. `{attempt, reason}`; null when nothing more is known.'),
  })
  .meta({ id: 'JobEvent' });
export type JobEvent = z.infer<typeof JobEvent>;
