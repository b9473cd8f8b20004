import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../schemas/job.ts';
import { devVars } from '../support/dev-vars.ts';
import { freePort, type StartedProcess, startProcessor } from './support/processes.ts';
import { startStack } from './support/stack.ts';

/** The environment the Dockerfile gives the processor (its ENV lines), which is all a Container gets. */
async function dockerfileEnv(): Promise<Record<string, string>> {
  const text = await readFile(resolve(import.meta.dirname, '..', '..', 'Dockerfile'), 'utf8');
  const env: Record<string, string> = {};
  for (const m of text.replace(/\\\n/g, ' ').matchAll(/^ENV\s+(.+)$/gm)) {
    for (const pair of m[1]!.trim().split(/\s+/)) {
      const [k, v] = pair.split('=');
      if (k && v !== undefined) env[k] = v;
    }
  }
  return env;
}

let stack: Awaited<ReturnType<typeof startStack>>;

beforeAll(async () => {
  const env = await dockerfileEnv();
  expect(env).toMatchObject({ NODE_ENV: 'production', PORT: '8080' });
  // Only the port differs (8080 may be taken here) and loopback is allowed, because this test's
  // storage and inputs live on loopback where production's are public.
  stack = await startStack({ processorEnv: { ...env, PORT: String(await freePort()) } });
});
afterAll(async () => {
  await stack?.close();
});

describe('the Dockerfile entrypoint', () => {
  it('starts with the image environment, reports /health and processes a job', async () => {
    const health = await (await fetch(`${stack.processor.url}/health`)).json();
    expect(health).toMatchObject({ status: 'ok', ffmpeg: expect.stringMatching(/\d/), sharp: expect.stringMatching(/\d/) });
    const { body } = await stack.api<Job>('/jobs', {
      method: 'POST',
      json: { input: stack.mediaUrl('photo.png'), kind: 'image', options: { width: 320, format: 'webp' } },
    });
    const job = await stack.waitForJob(body.id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.output).toMatchObject({ format: 'webp', width: 320, height: 240 });
  });
});

describe('a processor with production settings', () => {
  let processor: StartedProcess;
  afterAll(async () => {
    await processor?.stop();
  });

  it('refuses to fetch from loopback, private or metadata addresses, and says so', async () => {
    processor = await startProcessor({ ...(await dockerfileEnv()), PORT: String(await freePort()), KILN_ALLOW_LOOPBACK: 'false' });
    const events: unknown[] = [];
    const { createServer } = await import('node:http');
    const callback = createServer((req, res) => {
      let b = '';
      req.on('data', (c: Buffer) => (b += c.toString()));
      req.on('end', () => {
        events.push(JSON.parse(b));
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((r) => callback.listen(0, '127.0.0.1', r));
    const port = (callback.address() as { port: number }).port;
    for (const input of ['http://127.0.0.1:9/x.mov', 'http://169.254.169.254/latest/meta-data/', 'http://10.1.2.3/x.mov']) {
      events.length = 0;
      const res = await fetch(`${processor.url}/run`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${devVars().PROCESSOR_SECRET}` },
        body: JSON.stringify({
          job_id: 'job_0000000000000000000000test',
          attempt: 1,
          kind: 'video',
          options: {},
          input_url: input,
          output: { type: 'file', url: 'https://storage.example.com/out' },
          callback: { url: `http://127.0.0.1:${port}/cb`, token: 'x'.repeat(32) },
        }),
      });
      expect(res.status).toBe(202);
      const deadline = Date.now() + 10_000;
      while (!events.some((e) => (e as { type: string }).type === 'failed') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const failed = events.find((e) => (e as { type: string }).type === 'failed') as { error: { kind: string; message: string } };
      expect(failed.error.kind).toBe('invalid_input');
      expect(failed.error.message).toMatch(/not allowed/);
    }
    callback.close();
  });
});

describe('wrangler.toml', () => {
  it('spreads tasks over exactly the container instances it deploys', async () => {
    const toml = await readFile(resolve(import.meta.dirname, '..', '..', 'wrangler.toml'), 'utf8');
    const maxInstances = /^\[\[containers\]\][^[]*?^max_instances = (\d+)/ms.exec(toml)?.[1];
    const spreadOver = /^CONTAINER_INSTANCES = "(\d+)"/m.exec(toml)?.[1];
    expect(maxInstances).toBeDefined();
    expect(spreadOver).toBe(maxInstances);
  });
});
