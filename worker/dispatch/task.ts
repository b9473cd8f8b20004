import { type ErrorBody, KilnError } from '../../schemas/errors.ts';
import { mimeFor } from '../../schemas/formats.ts';
import { PRESIGNED_URL_TTL_S, type ProcessorTask, type RunKind } from '../../schemas/processor.ts';
import { callbackToken } from '../callbacks/token.ts';
import type { KilnConfig } from '../config/index.ts';
import type { BucketObject, JobState } from '../job-object/state.ts';
import { outputFormat } from '../jobs/create.ts';
import { bucketLocation } from '../storage/locations.ts';
import { presign } from '../storage/presign.ts';
import type { TenantObject } from '../tenant-object/index.ts';

/**
 * The MIME type the processor stores a single-file output with, or null until the input decides
 * (an image without a format, an import or export copying the input as it is).
 */
function outputType(state: JobState): string | null {
  const { kind } = state.job;
  if (kind === 'probe' || kind === 'import' || kind === 'export') return null;
  const format = outputFormat(kind, state.job.options);
  return format === null ? null : mimeFor(kind, format);
}

/** What the processor does for the job: its encode, or a standalone step (an import or export copies the file). */
function runKind(kind: JobState['job']['kind']): RunKind {
  return kind === 'import' || kind === 'export' ? 'copy' : kind;
}

/**
 * Builds what the processor needs for one run: a URL to read, a presigned URL to write and a
 * callback with a token for this attempt. Credentials never leave the Worker.
 */
export async function buildProcessorTask(opts: {
  state: JobState;
  attempt: number;
  config: KilnConfig;
  tenant: DurableObjectStub<TenantObject>;
}): Promise<ProcessorTask> {
  const { state, config } = opts;
  const { source, target, origin } = state;
  const locate = (where: BucketObject) => bucketLocation({ config, origin, tenant: opts.tenant, where });
  const inputUrl =
    source.type === 'url' ? source.url : await presign({ ...(await locate(source)), method: 'GET', expiresS: PRESIGNED_URL_TTL_S });
  const callbackUrl = (route: 'events' | 'outputs' | 'urls') => `${origin}/internal/jobs/${state.job.id}/${route}?attempt=${opts.attempt}`;
  const output: ProcessorTask['output'] =
    target.type === 'none'
      ? { type: 'none' }
      : target.type === 'folder'
        ? { type: 'folder', files_url: callbackUrl('outputs'), ...(target.main ? { main: target.main } : {}) }
        : {
            type: 'file',
            url: await presign({
              ...(await locate(target.location)),
              method: 'PUT',
              contentType: outputType(state),
              expiresS: PRESIGNED_URL_TTL_S,
            }),
          };
  return {
    job_id: state.job.id,
    attempt: opts.attempt,
    kind: runKind(state.job.kind),
    options: state.job.options,
    input_url: inputUrl,
    output,
    callback: {
      url: callbackUrl('events'),
      token: await callbackToken(config.callbackSecret, state.job.id, opts.attempt),
    },
    refresh_url: callbackUrl('urls'),
  };
}

/**
 * What to do about an error from {@link buildProcessorTask}. A Durable Object call that failed
 * transiently (the platform marks it `retryable`) is worth another delivery; anything else (a
 * connection that no key opens, a malformed endpoint) fails the same way every time, so the job
 * fails now, saying why, instead of waiting for the watchdog.
 */
export function preparationFailure(err: unknown): { retry: string } | { fail: ErrorBody } {
  if (err instanceof KilnError) return { fail: err.toJSON() };
  // Durable Object errors say whether trying again can help; an overloaded object is busy, not broken.
  const platform = err as Error & { retryable?: unknown; overloaded?: unknown };
  if (err instanceof Error && (platform.retryable === true || platform.overloaded === true)) return { retry: err.message };
  return {
    fail: {
      kind: 'internal_error',
      message: `Kiln could not prepare the run (${String(err).slice(0, 300)}). Check the Worker's configuration (README "Deploy"), then submit the job again.`,
    },
  };
}
