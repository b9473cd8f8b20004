import { z } from 'zod';

/**
 * Every failure Kiln reports, API or job, carries one of these kinds (docs/api.md#errors).
 * The HTTP status for API errors is mapped at one edge (`worker/http/errors.ts`).
 */
export const ErrorKind = z.enum([
  'invalid_input',
  'unauthorized',
  'job_not_found',
  'task_not_found',
  'not_found',
  'idempotency_key_reused',
  'connection_name_taken',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'internal_error',
  'input_unreachable',
  'input_not_media',
  'input_too_large',
  'input_too_long',
  'no_video_stream',
  'no_audio_stream',
  'too_many_pixels',
  'timeout',
  'cancelled',
  'output_write_failed',
  'processing_failed',
  'processor_busy',
  'processor_unavailable',
]);
export type ErrorKind = z.infer<typeof ErrorKind>;

/** The CLI reports the API's kinds and one of its own: it could not reach the API it was pointed at (no answer, or no such host). */
export const CliErrorKind = z.enum([...ErrorKind.options, 'api_unreachable']);
export type CliErrorKind = z.infer<typeof CliErrorKind>;
/** An error as the CLI prints it (`kind: message`, or `{kind, message}` with --json). */
export type CliError = { kind: CliErrorKind; message: string };

export const ErrorBody = z
  .object({
    kind: ErrorKind,
    message: z.string().describe('What went wrong and what to do about it.'),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof ErrorBody>;

export const ValidationIssue = z.object({
  path: z.string().describe('Dotted path of the offending field, e.g. `options.width`.'),
  message: z.string(),
});

export const ValidationErrorBody = ErrorBody.extend({
  kind: z.literal('invalid_input'),
  issues: z.array(ValidationIssue),
}).meta({ id: 'ValidationError' });

/**
 * A failure the user is told about, thrown by the Worker: a machine-readable `kind` and a plain
 * message, with no HTTP knowledge. The Worker's one `onError` (worker/http/errors.ts) maps the kind
 * to a status (kinds it does not list become 500 and are logged with their `cause`) and answers
 * `{ kind, message }`. The processor returns the same shape as an {@link ErrorBody} value instead.
 *
 * @example throw new KilnError('not_found', 'No file exists at this URL.', { cause: err });
 */
export class KilnError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KilnError';
    this.kind = kind;
  }
  toJSON(): ErrorBody {
    return { kind: this.kind, message: this.message };
  }
}

/*
 * The catalogue of errors reported from more than one place, so each is written once.
 */

/** The job's abort signal fired: the job was cancelled or its run superseded (the runner reports its time limit as `timeout`). */
export const cancelledError = (): ErrorBody => ({ kind: 'cancelled', message: 'The job was cancelled.' });

/** The Worker answered 409: the job was cancelled, finished or moved to a newer run. */
export const runNotWantedError = (): ErrorBody => ({ kind: 'cancelled', message: 'The job no longer needs this run.' });

/** The user interrupted the CLI (Ctrl-C) while it waited on the network. */
export const interruptedError = (): ErrorBody => ({ kind: 'cancelled', message: 'Cancelled.' });

/** An SVG declares XML entities, which is how SVG/XML bombs and XXE file reads start; no web SVG needs them. */
export const svgEntityError = (): ErrorBody => ({
  kind: 'invalid_input',
  message: 'SVG files with <!ENTITY> declarations are not accepted; remove the DOCTYPE block.',
});

/** No job with this id belongs to the caller's API key; another tenant's job looks the same. */
export const jobNotFoundError = (id: string): KilnError => new KilnError('job_not_found', `No job ${id} exists for this API key.`);
