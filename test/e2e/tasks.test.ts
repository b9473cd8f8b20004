import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsClient } from 'aws4fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminal, type StandaloneTask } from '../../schemas/job.ts';
import { download } from '../support/api-client.ts';
import { topLevelAtoms, videoStream } from '../support/inspect.ts';
import { LOCAL_S3, startStack } from './support/stack.ts';

let stack: Awaited<ReturnType<typeof startStack>>;
let dir: string;

beforeAll(async () => {
  stack = await startStack({ extraBuckets: ['exports'] });
  dir = await mkdtemp(join(tmpdir(), 'kiln-tasks-'));
});
afterAll(async () => {
  await stack?.close();
});

type Task = StandaloneTask & { output: NonNullable<StandaloneTask['output']> };

/** POSTs a task body as Ittybit documents it, then polls GET /tasks/{id} until it has finished. */
async function runTask(body: Record<string, unknown>): Promise<Task> {
  const created = await stack.api<StandaloneTask>('/tasks', { method: 'POST', json: body });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  expect(created.body.status).toBe('waiting');
  const deadline = Date.now() + 90_000;
  for (;;) {
    const { body: task } = await stack.api<StandaloneTask>(`/tasks/${created.body.id}`);
    if (task.status !== 'waiting' && isTerminal(task.status)) {
      expect(task.status, JSON.stringify(task.error)).toBe('succeeded');
      return task as Task;
    }
    if (Date.now() > deadline) throw new Error(`task ${task.id} still ${task.status} after 90 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("Ittybit's documented chain: probe → encode → export, each a standalone task", () => {
  it('probes a URL, encodes the File it returned, and exports the encoded File to a bucket unchanged', async () => {
    const input = stack.mediaUrl('clip-1080p.mov');
    const probed = await runTask({ kind: 'probe', input: { url: input } });
    expect(probed.output).toMatchObject({
      object: 'file',
      url: input,
      kind: 'video',
      format: expect.stringMatching(/mov/),
      width: 1920,
      height: 1080,
      codecs: { video: 'h264' },
    });
    expect(probed.output.duration).toBeGreaterThan(0);

    const encoded = await runTask({ kind: 'video', input: probed.output, options: { width: 1280, format: 'mp4' } });
    expect(encoded.input).toEqual(probed.output);
    expect(encoded.output).toMatchObject({ object: 'file', kind: 'video', format: 'mp4', width: 1280, height: 720 });

    const endpoint = `${stack.base}/cdn-cgi/local/r2/s3`;
    const conn = await stack.api<{ id: string }>('/connections', {
      method: 'POST',
      json: { endpoint, region: 'auto', access_key_id: LOCAL_S3.accessKeyId, secret_access_key: LOCAL_S3.secretAccessKey },
    });
    expect(conn.status).toBe(201);
    const exported = await runTask({
      kind: 'export',
      input: encoded.output,
      options: { url: 's3://exports/clip-1280.mp4', connection_id: conn.body.id },
    });
    expect(exported.output).toMatchObject({ object: 'file', url: 's3://exports/clip-1280.mp4', format: 'mp4', width: 1280 });

    const res = await new AwsClient({ ...LOCAL_S3, service: 's3' }).fetch(`${endpoint}/exports/clip-1280.mp4`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    const exportedPath = join(dir, 'exported.mp4');
    await writeFile(exportedPath, Buffer.from(await res.arrayBuffer()));
    const encodedPath = await download(encoded.output.url, dir, 'encoded.mp4');
    expect(Buffer.compare(await readFile(exportedPath), await readFile(encodedPath))).toBe(0);
    expect(await videoStream(exportedPath)).toMatchObject({ codec_name: 'h264', width: 1280, height: 720, pix_fmt: 'yuv420p' });
    expect((await topLevelAtoms(exportedPath)).indexOf('moov')).toBeLessThan((await topLevelAtoms(exportedPath)).indexOf('mdat'));
  });
});
