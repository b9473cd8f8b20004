import { KilnError } from '../../schemas/errors.ts';
import { defaultFormat, extensionFor, PLAYLIST_EXTENSION, writesFolder } from '../../schemas/formats.ts';
import { type JobCreate, type StepCreate, StepKind } from '../../schemas/job.ts';
import { OptionsByKind } from '../../schemas/options.ts';
import { PlaylistName, TaskStage } from '../../schemas/processor.ts';
import { readConfig } from '../config/index.ts';
import { dispatchNow } from '../dispatch/start.ts';
import { ValidationError } from '../http/errors.ts';
import type { JobRequest, JobState, NewJob, OutputTarget, Standalone } from '../job-object/state.ts';
import { checkOutboundUrl } from '../net/outbound.ts';
import { outputKey, outputPrefix } from '../storage/keys.ts';
import { jobStub, tenantStub } from '../stubs.ts';
import { sha256Hex } from '../utils/crypto.ts';
import { newId } from '../utils/ids.ts';
import { parseS3Url, resolveInput, unknownConnectionId } from './input.ts';

/** The format of a job's output when it is known before the input is probed (image: not until then). */
export function outputFormat(kind: JobCreate['kind'], options: Record<string, unknown>): string | null {
  return typeof options.format === 'string' ? options.format : defaultFormat(kind);
}

function isStep(body: JobRequest): body is StepCreate {
  return StepKind.safeParse(body.kind).success;
}

/**
 * Canonical JSON (sorted keys, undefined fields left out as JSON leaves them) so that key order, or
 * how a request was put together, does not make an identical body look changed.
 */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** What an Idempotency-Key remembers of the request: the same body in any key order hashes alike. */
export function requestHash(body: JobRequest): Promise<string> {
  return sha256Hex(canonical(body));
}

const PLAYLIST_SUFFIX = `.${PLAYLIST_EXTENSION}`;

/**
 * An s3:// output naming the master playlist (`s3://bucket/streams/lecture/stream.m3u8`, as
 * Ittybit's CLI writes it): the key's folder is the prefix and its file name the playlist's.
 * Null for anything else, a prefix ending in / included.
 */
function splitPlaylistUrl(output: string): { prefix: string; name: string } | null {
  if (!output.startsWith('s3://') || !output.endsWith(PLAYLIST_SUFFIX)) return null;
  const slash = output.lastIndexOf('/');
  const prefix = output.slice(0, slash + 1);
  const name = output.slice(slash + 1);
  if (!parseS3Url(prefix)) {
    throw new ValidationError([
      { path: 'output', message: 'Expected the playlist inside a folder for output, such as s3://bucket/streams/lecture/master.m3u8' },
    ]);
  }
  const valid = PlaylistName.safeParse(name);
  if (!valid.success) {
    throw new ValidationError([
      {
        path: 'output',
        message: `Expected a playlist name of letters, digits, _ - . ending in .m3u8 for output, not ${JSON.stringify(name.slice(0, 60))}`,
      },
    ]);
  }
  return { prefix, name };
}

/**
 * Where the job writes: nowhere for a probe; one file, or a folder for multi-file outputs, in
 * Kiln's bucket or at the s3:// output. An import or export writes the input's bytes as they are,
 * so its file's extension and type are not Kiln's to choose.
 */
async function resolveOutput(opts: {
  body: JobRequest;
  jobId: string;
  options: Record<string, unknown>;
  tenant: ReturnType<typeof tenantStub>;
}): Promise<OutputTarget> {
  const { body, jobId } = opts;
  if (body.kind === 'probe') return { type: 'none' };
  const encode = body.kind === 'import' || body.kind === 'export' ? null : body.kind;
  const format = encode && outputFormat(encode, opts.options);
  const multiFile = encode !== null && writesFolder(encode, format);
  const type = multiFile ? 'folder' : 'file';
  if (!body.output) {
    const extension = encode === null || format === null ? null : extensionFor(encode, format);
    const key = multiFile ? outputPrefix(jobId) : outputKey(jobId, extension).key;
    return { type, location: { type: 'kiln', key } };
  }
  const playlist = multiFile ? splitPlaylistUrl(body.output) : null;
  // The API's one sign of a folder: an s3:// output ending in / is a prefix for many files.
  if (!playlist && multiFile !== body.output.endsWith('/')) {
    const message = multiFile
      ? 'Expected a prefix ending in / (s3://bucket/streams/lecture/) or a playlist key ending in .m3u8 (s3://bucket/streams/lecture/master.m3u8) for output: adaptive_video writes a playlist and its segments'
      : 'Expected s3://bucket/key for output, not a prefix ending in /';
    throw new ValidationError([{ path: 'output', message }]);
  }
  const s3 = parseS3Url(playlist?.prefix ?? body.output);
  const connection = await opts.tenant.getConnection(body.connection_id);
  if (!connection && body.connection_id) {
    throw new ValidationError([{ path: 'connection_id', message: `No connection ${body.connection_id} exists for this API key` }]);
  }
  if (!s3 || !connection) {
    throw new ValidationError([
      { path: 'output', message: 'An s3:// output needs a connection: create one with POST /connections or pass connection_id' },
    ]);
  }
  const location = { type: 's3', connection_id: connection.id, ...s3 } as const;
  return playlist ? { type: 'folder', location, main: playlist.name } : { type, location };
}

/** A job request checked against the world, ready to store: {@link prepareJob}. */
export interface PreparedJob {
  jobId: string;
  body: JobRequest;
  options: Record<string, unknown>;
  source: NewJob['source'];
  target: OutputTarget;
}

/**
 * Checks a validated job request against the world (options, webhook, connection, input,
 * output) and names its job, without storing anything: a multi-output request checks every
 * output before it creates any job.
 */
export async function prepareJob(opts: { env: Env; tenant: string; origin: string; body: JobRequest }): Promise<PreparedJob> {
  const { env, body, origin } = opts;
  const config = readConfig(env);
  const tenant = tenantStub(env, opts.tenant);
  // A step copies or reads the file as it is: the processor gets no options.
  const options = isStep(body) ? {} : (OptionsByKind[body.kind].parse(body.options ?? {}) as Record<string, unknown>);
  if (body.webhook_url) {
    checkOutboundUrl(body.webhook_url, 'webhook_url', { allowLoopback: config.allowLoopback, httpsOnly: true });
  }
  // Checked even when nothing is s3://, so a mistyped id is never silently unused.
  if (body.connection_id && !(await tenant.getConnection(body.connection_id))) throw unknownConnectionId(body.connection_id);
  const source = await resolveInput({ input: body.input, connectionId: body.connection_id, config, origin, tenant });
  const jobId = newId('job');
  const target = await resolveOutput({ body, jobId, options, tenant });
  return { jobId, body, options, source, target };
}

/**
 * Stores a prepared job in its JobObject, which queues it unless `enqueue` is false (the caller
 * sends its message, as POST /jobs/batch does for all its jobs in one).
 */
export function storeJob(opts: {
  env: Env;
  tenant: string;
  origin: string;
  prepared: PreparedJob;
  taskIds?: string[];
  standalone?: Standalone;
  enqueue?: boolean;
}): Promise<JobState> {
  const { prepared } = opts;
  return jobStub(opts.env, prepared.jobId).create(
    {
      id: prepared.jobId,
      tenant: opts.tenant,
      origin: opts.origin,
      request: prepared.body,
      options: prepared.options,
      standalone: opts.standalone,
      source: prepared.source,
      target: prepared.target,
      taskIds: opts.taskIds ?? TaskStage.options.map(() => newId('task')),
      now: Date.now(),
    },
    { enqueue: opts.enqueue ?? true },
  );
}

/**
 * Checks a validated job request against the world (input, output, webhook, idempotency),
 * stores it in its JobObject and queues it. `replayed` is true when an Idempotency-Key matched.
 * A job never started is also dispatched at once through `waitUntil` (see dispatchNow), so a
 * processor with room starts it without waiting for the queue's delivery.
 *
 * An Idempotency-Key names its job id before the job exists, and is never given back: a request
 * that finds the key claimed but its job missing (the first request died, or its create failed
 * after all) creates that same job id, which JobObject.create does once, so however the first
 * request failed, retries end in exactly one job.
 */
export async function submitJob(opts: {
  env: Env;
  tenant: string;
  origin: string;
  body: JobRequest;
  idempotencyKey: string | undefined;
  taskIds?: string[];
  standalone?: Standalone;
  /** The request's ExecutionContext.waitUntil: the response does not wait for the direct dispatch. */
  waitUntil: (work: Promise<unknown>) => void;
}): Promise<{ state: JobState; replayed: boolean }> {
  const { env, body } = opts;
  let prepared = await prepareJob(opts);
  let replayed = false;
  if (opts.idempotencyKey) {
    const tenant = tenantStub(env, opts.tenant);
    const claim = await tenant.claimIdempotencyKey(opts.idempotencyKey, await requestHash(body), prepared.jobId);
    if (claim.outcome === 'conflict') {
      throw new KilnError(
        'idempotency_key_reused',
        'This Idempotency-Key was already used with a different request body; use a new key for a new job.',
      );
    }
    if (claim.outcome === 'replay') {
      const original = await jobStub(env, claim.job_id).stored(opts.tenant);
      if (original) return { state: original, replayed: true };
      const jobId = claim.job_id;
      prepared = { ...prepared, jobId, target: await resolveOutput({ body, jobId, options: prepared.options, tenant }) };
      replayed = true;
    }
  }
  const state = await storeJob({ ...opts, prepared });
  if (state.attempt === 0 && state.claimedSeq === null) opts.waitUntil(dispatchNow(env, state));
  return { state, replayed };
}
