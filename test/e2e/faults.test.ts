import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../schemas/job.ts';
import { devVars } from '../support/dev-vars.ts';
import { until } from '../support/until.ts';
import { startReceiver } from './support/receiver.ts';
import { startStack } from './support/stack.ts';

/** Short watchdog so a killed processor is noticed in seconds, not the production minute. */
const WATCHDOG_S = 6;
/**
 * Jobs in the burst drill: several times what the processor holds (its slots plus its backlog of
 * 16), and more than one page (100) of the job list it is checked against.
 */
const BURST = 120;
/** Three times the queue's max_batch_timeout (1 s): every copy of a message sent has been delivered by then. */
const DUPLICATE_SETTLE_MS = 3_000;

let stack: Awaited<ReturnType<typeof startStack>>;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  stack = await startStack({ vars: { HEARTBEAT_TIMEOUT_S: String(WATCHDOG_S) } });
  receiver = await startReceiver();
});
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
});

describe('faults the user never sees', () => {
  it('finishes a job whose processor was killed mid-encode, on a retry', async () => {
    const { body } = await stack.api<Job>('/jobs', {
      method: 'POST',
      json: { input: stack.mediaUrl('clip-1080p.mov'), kind: 'video', options: { width: 1920, quality: 'very_high' } },
    });
    await until('the encode to start', async () => {
      const job = (await stack.api<Job>(`/jobs/${body.id}`)).body;
      return job.tasks[2]?.status === 'processing' ? job : undefined;
    });
    await stack.restartProcessor();
    const job = await stack.waitForJob(body.id, 90_000);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.output).toMatchObject({ width: 1920, height: 1080, codecs: { video: 'h264' } });
    expect((await fetch(job.output!.url)).status).toBe(200);
  });

  it('delivers a webhook once, signed, to a receiver that was down and came back', async () => {
    receiver.setStatus(503);
    const { body } = await stack.api<Job>('/jobs', {
      method: 'POST',
      json: {
        input: stack.mediaUrl('photo.png'),
        kind: 'image',
        options: { width: 64, format: 'webp' },
        webhook_url: receiver.url('/down-then-up'),
      },
    });
    await until('a refused delivery', async () => (receiver.received.some((r) => r.body.includes(body.id)) ? true : undefined));
    receiver.setStatus(200);
    await until('a successful delivery', async () => {
      const deliveries = (await stack.api<{ status: number }[]>(`/jobs/${body.id}/deliveries`)).body;
      return deliveries.some((d) => d.status === 200) ? deliveries : undefined;
    });
    const mine = receiver.received.filter((r) => r.body.includes(body.id));
    const accepted = mine.slice(1);
    expect(accepted).toHaveLength(1);
    const payload = new Webhook(devVars().WEBHOOK_SECRET!).verify(accepted[0]!.body, accepted[0]!.headers) as Job;
    expect(payload).toMatchObject({ id: body.id, status: 'succeeded' });
    expect(new Set(mine.map((r) => r.headers['webhook-id'])).size).toBe(1);
  });

  it('runs one encode and sends one terminal webhook when the queue delivers a message twice', async () => {
    receiver.setStatus(200);
    // A query of its own, so the media server's count is this job's downloads: one per run. An
    // encode of a few seconds, so the copies arrive while the run is live, not after it ended.
    const input = 'clip-1080p.mov?duplicate-delivery';
    const { body } = await stack.api<Job>('/jobs', {
      method: 'POST',
      json: { input: stack.mediaUrl(input), kind: 'video', options: { width: 1280, quality: 'high' }, webhook_url: receiver.url('/twice') },
    });
    // The job may have started at its creation (a new generation) or from its queue message: a
    // copy of every generation it can be at arrives, so one of them is a duplicate of the live one.
    const env = await stack.workerEnv();
    for (const seq of [1, 2, 3]) await env.JOB_QUEUE.send({ job_id: body.id, tenant: 'dev', seq });
    const job = await stack.waitForJob(body.id);
    // The local queue delivers within its batch wait (1 s): a few of them pass before counting runs.
    await new Promise((r) => setTimeout(r, DUPLICATE_SETTLE_MS));
    expect(job.status).toBe('succeeded');
    const events = (await stack.api<{ type: string }[]>(`/jobs/${body.id}/events`)).body;
    expect(events.filter((e) => e.type === 'run_started')).toHaveLength(1);
    expect(stack.mediaRequests(input)).toBe(1);
    const deliveries = await until('the terminal webhook to be delivered', async () => {
      const recorded = (await stack.api<{ status: number }[]>(`/jobs/${body.id}/deliveries`)).body;
      return recorded.some((d) => d.status === 200) ? recorded : undefined;
    });
    expect(deliveries).toHaveLength(1);
    expect(receiver.received.filter((r) => r.body.includes(body.id))).toHaveLength(1);
    const out = await fetch(job.output!.url);
    expect(out.status).toBe(200);
  });

  it(`brings ${BURST} jobs submitted at once to a terminal state, losing none`, async () => {
    const ids = await Promise.all(
      Array.from({ length: BURST }, async (_, i) => {
        const res = await stack.api<Job>('/jobs', {
          method: 'POST',
          json: {
            input: stack.mediaUrl('alpha.png'),
            kind: 'image',
            options: { width: 32 + (i % 8), format: 'webp' },
            metadata: { batch: 'flood' },
          },
        });
        expect(res.status).toBe(201);
        return res.body.id;
      }),
    );
    const jobs = await Promise.all(ids.map((id) => stack.waitForJob(id, 240_000)));
    expect(jobs.filter((j) => j.status === 'succeeded')).toHaveLength(BURST);
    const listed: string[] = [];
    let next: string | null = '/jobs?metadata[batch]=flood&limit=100';
    while (next) {
      const page: { body: Job[]; headers: Headers } = await stack.api<Job[]>(next);
      listed.push(...page.body.map((j) => j.id));
      const link = page.headers.get('link');
      next = link ? new URL(/<([^>]+)>/.exec(link)![1]!).pathname + new URL(/<([^>]+)>/.exec(link)![1]!).search : null;
    }
    expect(listed.sort()).toEqual([...ids].sort());
  }, 300_000);
});
