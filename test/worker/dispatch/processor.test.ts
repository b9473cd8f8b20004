import { describe, expect, it } from 'vitest';
import type { ProcessorTask } from '../../../schemas/processor.ts';
import type { ProcessorContainer } from '../../../worker/dispatch/container.ts';
import { containerProcessor } from '../../../worker/dispatch/processor.ts';

/**
 * How one task is offered to container instances. Containers cannot run inside workerd's test
 * pool, so each instance here is a stand-in Durable Object stub answering with a fixed response;
 * the real instances are exercised by the containers tier (test/containers/).
 */
type Answer = { status: number; body?: unknown; headers?: Record<string, string> } | 'throws';

function instances(answers: Answer[]) {
  const offered: number[] = [];
  const requests: { url: string; body: unknown }[] = [];
  const restarted: number[] = [];
  const namespace = {
    idFromName: (name: string) => Number(name.replace('instance-', '')),
    get: (n: number) => ({
      async fetch(url: string, init: RequestInit) {
        offered.push(n);
        requests.push({ url, body: JSON.parse(String(init.body)) });
        const answer = answers[n]!;
        if (answer === 'throws') throw new Error('Network connection lost.');
        return new Response(JSON.stringify(answer.body ?? {}), { status: answer.status, headers: answer.headers });
      },
      async restartIfIdle() {
        restarted.push(n);
      },
    }),
  } as unknown as DurableObjectNamespace<ProcessorContainer>;
  return { namespace, offered, requests, restarted };
}

const TASK = { job_id: 'job_00000000000000000000000000' } as ProcessorTask;
const SECRET = 'x'.repeat(32);
const BUSY: Answer = { status: 503, headers: { 'retry-after': '10' }, body: { kind: 'processor_busy' } };

describe('offering a task to container instances', () => {
  it('goes on past busy and unreachable instances until one accepts', async () => {
    const { namespace, offered } = instances([BUSY, 'throws', BUSY, { status: 202 }]);
    const result = await containerProcessor(namespace, { containerInstances: 4, processorSecret: SECRET }).dispatch(TASK);
    expect(result).toEqual({ outcome: 'accepted' });
    expect(offered).toContain(3);
  });

  it('answers busy, with the longest Retry-After, when every instance is full or down', async () => {
    const { namespace, offered } = instances([BUSY, 'throws', BUSY]);
    const result = await containerProcessor(namespace, { containerInstances: 3, processorSecret: SECRET }).dispatch(TASK);
    expect(result).toMatchObject({ outcome: 'busy', retryAfterS: 10 });
    expect(offered.sort()).toEqual([0, 1, 2]);
  });

  it('answers unreachable only when no instance answered', async () => {
    const { namespace } = instances(['throws', 'throws']);
    const result = await containerProcessor(namespace, { containerInstances: 2, processorSecret: SECRET }).dispatch(TASK);
    expect(result).toMatchObject({ outcome: 'unreachable', detail: 'Network connection lost.' });
  });

  it('skips a container with an outdated secret and asks it to restart once idle', async () => {
    const { namespace, restarted } = instances([{ status: 401, body: { kind: 'unauthorized' } }, { status: 401 }]);
    const result = await containerProcessor(namespace, { containerInstances: 2, processorSecret: SECRET }).dispatch(TASK);
    expect(result).toMatchObject({ outcome: 'busy' });
    expect(restarted.sort()).toEqual([0, 1]);
  });

  it('stops at an answer that holds for every instance: a misconfiguration', async () => {
    const said = { kind: 'processor_unavailable', message: 'The processor is misconfigured: KILN_BACKLOG …' };
    const { namespace, offered } = instances([
      { status: 500, body: said },
      { status: 500, body: said },
      { status: 500, body: said },
    ]);
    const result = await containerProcessor(namespace, { containerInstances: 3, processorSecret: SECRET }).dispatch(TASK);
    expect(result).toEqual({ outcome: 'unavailable', message: said.message });
    expect(offered).toHaveLength(1);
  });

  it('offers a group as one POST /run-group, going on past a busy instance like a single task', async () => {
    // Instances are tried from a random one: whichever comes first, the busy one is passed over.
    const { namespace, requests, offered } = instances([BUSY, { status: 202 }]);
    const group = { tasks: [TASK, { ...TASK, job_id: 'job_11111111111111111111111111' }] };
    const processor = containerProcessor(namespace, { containerInstances: 2, processorSecret: SECRET });
    expect(await processor.dispatchGroup(group)).toEqual({ outcome: 'accepted' });
    expect(offered.at(-1)).toBe(1);
    for (const request of requests) expect(request).toEqual({ url: 'http://container/run-group', body: group });
  });
});
