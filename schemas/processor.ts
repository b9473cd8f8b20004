import { z } from 'zod';
import { ErrorBody } from './errors.ts';
import { MediaInfo } from './file.ts';
import { JobKind } from './options.ts';

/**
 * The contract between the Worker and the processor. The processor never holds credentials: it
 * gets a URL to read, presigned URLs to write, and a callback URL with a per-attempt token.
 */

/** Shortest PROCESSOR_SECRET (KILN_PROCESSOR_SECRET in the processor) either side accepts: shorter ones are guessable. */
export const MIN_SECRET_LENGTH = 16;

/**
 * A job id as worker/utils/ids.ts mints it. The processor names its temp folder after it, so
 * nothing but these characters may reach the filesystem.
 */
export const ProcessorJobId = z.string().regex(/^job_[0-9a-z]{26}$/, 'Expected a job id such as job_01jd…');

/** Longest callback token the processor takes; the Worker's are 64 characters. */
export const MAX_CALLBACK_TOKEN_CHARS = 512;

export const ProcessorTask = z.object({
  job_id: ProcessorJobId,
  attempt: z.number().int().min(1),
  kind: JobKind,
  options: z.record(z.string(), z.unknown()),
  input_url: z.url(),
  // A Worker older than the `type` field sends `{url}` or `{files_url}` alone (a rolling deploy, or
  // a self-hosted processor upgraded first): infer it, so those tasks still run.
  output: z.preprocess(
    (o) => (o && typeof o === 'object' && !('type' in o) ? { ...o, type: 'files_url' in o ? 'folder' : 'file' } : o),
    z.discriminatedUnion('type', [
      z.object({ type: z.literal('file'), url: z.url().describe('Presigned PUT URL for the encoded file.') }),
      z.object({
        type: z.literal('folder'),
        files_url: z
          .url()
          .describe('Multi-file outputs (HLS): POST an OutputFilesRequest here, with the callback token, for one PUT URL per file.'),
      }),
    ]),
  ),
  callback: z.object({
    url: z.url(),
    // The run sends it back as `Authorization: Bearer <token>`: a token no header can carry would
    // let a run start that can never report. The Worker mints 64 hex characters.
    token: z
      .string()
      .min(16)
      .max(MAX_CALLBACK_TOKEN_CHARS)
      .regex(/^[\x21-\x7e]+$/, 'Expected printable ASCII without spaces'),
  }),
});
export type ProcessorTask = z.infer<typeof ProcessorTask>;

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

export const TaskStage = z.enum(['probe', 'import', 'encode', 'export']);
export type TaskStage = z.infer<typeof TaskStage>;

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
    notes: z.array(z.string()).optional().describe('Adjustments the user should know about, e.g. a clamped start.'),
  }),
  z.object({
    type: z.literal('failed'),
    attempt: z.number().int(),
    stage: TaskStage,
    error: ErrorBody,
  }),
]);
export type ProcessorEvent = z.infer<typeof ProcessorEvent>;
