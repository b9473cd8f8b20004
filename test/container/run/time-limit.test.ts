import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_LIMITS } from '../../../container/limits.ts';
import { runTask } from '../../../container/run/index.ts';
import type { ProcessorEvent, RunKind } from '../../../schemas/processor.ts';

/** An input server that sends headers and a few bytes, then nothing: the run waits until something aborts it. */
let server: Server;
let inputUrl = '';
beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': '1000000' });
    res.write('stall');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  inputUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/clip.mp4`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

/**
 * Runs a task against the stalling input; `answer` is the Worker's status for each callback, sent
 * after a pause so that the download is under way when a 409 stops the run.
 */
async function run(maxProcessingS: number, answer: number, kind: RunKind = 'video'): Promise<Extract<ProcessorEvent, { type: 'failed' }>> {
  const events: ProcessorEvent[] = [];
  const fetcher = (async (_url: string, init: RequestInit) => {
    events.push(JSON.parse(String(init.body)));
    await new Promise((r) => setTimeout(r, 200));
    return new Response(null, { status: answer });
  }) as typeof fetch;
  await runTask(
    {
      job_id: 'job_time_limit',
      attempt: 1,
      kind,
      options: {},
      input_url: inputUrl,
      output: kind === 'probe' ? { type: 'none' } : { type: 'file', url: 'http://127.0.0.1:1/out.mp4' },
      callback: { url: 'http://kiln.test/callback', token: 'a-token-of-16-chars' },
    },
    { limits: { ...DEFAULT_LIMITS, maxProcessingS }, allowLoopback: true, tmpRoot: join(tmpdir(), 'kiln-run-test'), fetcher },
  );
  const failed = events.find((e) => e.type === 'failed');
  if (failed?.type !== 'failed') throw new Error(`no failed event in ${JSON.stringify(events)}`);
  return failed;
}

describe('runTask time limit', () => {
  test.each(['video', 'probe', 'copy'] as const)(
    'a %s run stopped by the processing time limit is reported as a timeout naming the limit',
    async (kind) => {
      const failed = await run(0.3, 200, kind);
      expect(failed).toMatchObject({ stage: 'import' });
      expect(failed.error).toEqual({
        kind: 'timeout',
        message: 'Processing took longer than the 0.3 s limit; trim the input or lower the quality.',
      });
    },
  );

  test('a run the Worker stops (409) is reported as cancelled, not as a timeout', async () => {
    const failed = await run(60, 409);
    expect(failed.error).toEqual({ kind: 'cancelled', message: 'The job was cancelled.' });
  });
});
