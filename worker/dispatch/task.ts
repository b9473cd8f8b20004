import type { ProcessorTask } from '../../schemas/processor.ts';
import { callbackToken } from '../callbacks/token.ts';
import type { KilnConfig } from '../config/index.ts';
import { PRESIGN_TTL_S } from '../constants.ts';
import type { JobState } from '../job-object/state.ts';
import { connectionBucket, kilnBucket } from '../storage/locations.ts';
import { presign } from '../storage/presign.ts';
import type { TenantObject } from '../tenant-object/index.ts';

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
  const { source, target } = state;
  let inputUrl: string;
  if (source.type === 'url') inputUrl = source.url;
  else if (source.type === 'kiln') {
    inputUrl = await presign({ ...kilnBucket(config, state.origin, source.key), method: 'GET', expiresS: PRESIGN_TTL_S });
  } else {
    const loc = await connectionBucket(config, await opts.tenant.getConnection(source.connection_id), source);
    inputUrl = await presign({ ...loc, method: 'GET', expiresS: PRESIGN_TTL_S });
  }
  const callbackUrl = `${state.origin}/internal/jobs/${state.job.id}`;
  let output: ProcessorTask['output'];
  if (target.key.endsWith('/')) {
    output = { files_url: `${callbackUrl}/outputs` };
  } else {
    const loc =
      target.type === 'kiln'
        ? kilnBucket(config, state.origin, target.key)
        : await connectionBucket(config, await opts.tenant.getConnection(target.connection_id), target);
    output = { url: await presign({ ...loc, method: 'PUT', expiresS: PRESIGN_TTL_S }) };
  }
  return {
    job_id: state.job.id,
    attempt: opts.attempt,
    kind: state.job.kind,
    options: state.job.options,
    input_url: inputUrl,
    output,
    callback: {
      url: `${callbackUrl}/events`,
      token: await callbackToken(config.callbackSecret, state.job.id, opts.attempt),
    },
  };
}
