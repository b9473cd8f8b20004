import { describe, expect, it, vi } from 'vitest';
import { createReporter } from '../../../container/run/reporter.ts';
import type { MediaInfo } from '../../../schemas/file.ts';
import { ProcessorEvent, REPORT_TEXT_MAX_CHARS } from '../../../schemas/processor.ts';

const INPUT = { kind: 'video', format: 'mov', width: 1920, height: 1080 } as unknown as MediaInfo;

/** A Worker stand-in that records each event and holds the first answer until released. */
function slowFirstAnswer() {
  const received: ProcessorEvent[] = [];
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const fetcher = (async (_url: string, init: RequestInit) => {
    received.push(JSON.parse(String(init.body)));
    if (received.length === 1) await released;
    return new Response(null, { status: 200 });
  }) as typeof fetch;
  return { received, release, fetcher };
}

/** A reporter for attempt 1 that posts through `fetcher`. */
function reporterOver(fetcher: typeof fetch) {
  return createReporter({ url: 'http://worker/cb', token: 't', attempt: 1, abort: new AbortController(), fetcher });
}

describe('the run reporter', () => {
  it('delivers the probe result before success although its own send was skipped by a POST in flight', async () => {
    const worker = slowFirstAnswer();
    const reporter = reporterOver(worker.fetcher);
    reporter.progress('import', 100);
    reporter.progress('probe', 100, INPUT);
    reporter.progress('encode', 40);
    worker.release();
    await reporter.finish({ type: 'succeeded', attempt: 1, output: INPUT });

    const success = worker.received.findIndex((e) => e.type === 'succeeded');
    const withInput = worker.received.findIndex((e) => e.type === 'progress' && e.input);
    expect(withInput).toBeGreaterThan(0);
    expect(withInput).toBeLessThan(success);
  });

  it('stops repeating the probe result once the Worker has acknowledged it', async () => {
    const worker = slowFirstAnswer();
    worker.release();
    const reporter = reporterOver(worker.fetcher);
    reporter.progress('probe', 100, INPUT);
    await new Promise((r) => setTimeout(r, 10));
    reporter.progress('encode', 10);
    await reporter.finish({ type: 'succeeded', attempt: 1, output: INPUT });

    expect(worker.received.map((e) => e.type === 'progress' && Boolean(e.input))).toEqual([true, false, false]);
  });

  it('retries the probe result at the end of a run until the Worker answers, before the terminal event', async () => {
    const received: ProcessorEvent[] = [];
    let failures = 2;
    const fetcher = (async (_url: string, init: RequestInit) => {
      const event = JSON.parse(String(init.body)) as ProcessorEvent;
      received.push(event);
      if (event.type === 'progress' && failures-- > 0) return new Response(null, { status: 503 });
      return new Response(null, { status: 200 });
    }) as typeof fetch;
    const reporter = reporterOver(fetcher);
    reporter.progress('probe', 100, INPUT);
    await vi.waitFor(() => expect(received).toHaveLength(1));
    expect(await reporter.finish({ type: 'succeeded', attempt: 1, output: INPUT })).toBe(true);

    expect(received.map((e) => (e.type === 'progress' ? `progress${e.input ? '+input' : ''}` : e.type))).toEqual([
      'progress+input',
      'progress+input',
      'progress+input',
      'succeeded',
    ]);
  });

  it("cuts a terminal event's texts to what the Worker accepts, so an overlong message does not lose the result", async () => {
    const received: unknown[] = [];
    const fetcher = (async (_url: string, init: RequestInit) => {
      received.push(JSON.parse(String(init.body)));
      return new Response(null, { status: 200 });
    }) as typeof fetch;
    const reporter = reporterOver(fetcher);
    const message = 'x'.repeat(REPORT_TEXT_MAX_CHARS + 1000);
    await reporter.finish({ type: 'failed', attempt: 1, stage: 'encode', error: { kind: 'processing_failed', message } });
    const failed = received.at(-1) as { error: { message: string } };
    expect(failed.error.message).toBe(message.slice(0, REPORT_TEXT_MAX_CHARS));
    expect(ProcessorEvent.safeParse(failed).success).toBe(true);
  });
});
