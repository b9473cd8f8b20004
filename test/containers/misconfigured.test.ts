import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job, JobEvent } from '../../schemas/job.ts';
import { fixture } from '../support/media.ts';
import { type ContainerStack, dockerEnv, startContainerStack } from './support/stack.ts';

/**
 * A deploy mistake: a `KILN_*` var the processor cannot use. The container starts, but every task
 * is refused with the processor's own explanation, so the job fails at once naming the variable
 * instead of retrying for minutes or failing with an exit code.
 */
let stack: ContainerStack;

beforeAll(async () => {
  stack = await startContainerStack({ maxInstances: 1, vars: { KILN_MAX_INPUT_BYTES: 'lots' } });
}, 15 * 60_000);

afterAll(async () => {
  await stack?.close();
});

describe.skipIf(!dockerEnv)('a misconfigured processor container', () => {
  it('fails the job at once with an error that names the setting to fix', async () => {
    const file = await stack.upload(fixture('photo.png'), 'image/png');
    const { body } = await stack.api<Job>('/jobs', { method: 'POST', json: { input: file, kind: 'image', options: { width: 100 } } });
    const job = await stack.waitForJob(body.id, 180_000);
    expect(job.status).toBe('failed');
    expect(job.error).toEqual({ kind: 'processor_unavailable', message: expect.stringContaining('KILN_MAX_INPUT_BYTES') });
    const history = (await stack.api<JobEvent[]>(`/jobs/${body.id}/events`)).body;
    expect(history.filter((e) => e.type === 'run_started')).toHaveLength(1);
  });
});
