import { z } from 'zod';

/**
 * Every failure Kiln reports, API or job, carries one of these kinds (docs/api.md#errors).
 * The HTTP status for API errors is mapped at one edge (`worker/http/errors.ts`).
 */
export const ErrorKind = z.enum([
  'invalid_input',
  'unauthorized',
  'job_not_found',
  'not_found',
  'idempotency_key_reused',
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

/** A failure as a value: what every fallible Kiln operation returns instead of throwing. */
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
