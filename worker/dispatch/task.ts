import type { ProcessorTask } from '../../schemas/processor.ts';
import { callbackToken } from '../callbacks/token.ts';
import type { KilnConfig } from '../config/index.ts';
import { PRESIGN_TTL_S } from '../constants.ts';
import type { BucketObject, JobState } from '../job-object/state.ts';
import { bucketLocation } from '../storage/locations.ts';
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
  const { source, target, origin } = state;
  const locate = (where: BucketObject) => bucketLocation({ config, origin, tenant: opts.tenant, where });
  const inputUrl =
    source.type === 'url' ? source.url : await presign({ ...(await locate(source)), method: 'GET', expiresS: PRESIGN_TTL_S });
  const callbackUrl = (route: 'events' | 'outputs') => `${origin}/internal/jobs/${state.job.id}/${route}?attempt=${opts.attempt}`;
  const output: ProcessorTask['output'] =
    target.type === 'folder'
      ? { type: 'folder', files_url: callbackUrl('outputs') }
      : { type: 'file', url: await presign({ ...(await locate(target.location)), method: 'PUT', expiresS: PRESIGN_TTL_S }) };
  return {
    job_id: state.job.id,
    attempt: opts.attempt,
    kind: state.job.kind,
    options: state.job.options,
    input_url: inputUrl,
    output,
    callback: {
      url: callbackUrl('events'),
      token: await callbackToken(config.callbackSecret, state.job.id, opts.attempt),
    },
  };
}
