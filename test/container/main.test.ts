import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessorEvent } from '../../schemas/processor.ts';
import { serveDirectory, startProcessor } from '../e2e/support/processes.ts';
import { devVars } from '../support/dev-vars.ts';
import { alive, descendants } from '../support/proc.ts';
import { until } from '../support/until.ts';

/**
 * The processor's entrypoint stopped the way the platform stops a Container (SIGTERM): a run in
 * the middle of its encode is given back to the Worker, not failed, and nothing is left behind.
 */
const JOB_ID = 'job_0000000000000000000000stop';
/** Long enough that the encode is still running when SIGTERM comes. */
const CLIP_S = 10;

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'kiln-main-test-'));
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=30:duration=${CLIP_S}`],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', join(scratch, 'long.mp4')],
  ]);
});
afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** The Worker's side of a run: records every callback and answers 200 (and takes the upload, which never comes). */
async function worker() {
  const events: ProcessorEvent[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.method === 'POST') events.push(JSON.parse(body) as ProcessorEvent);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, events, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** The ffmpeg processes `pid` started that still run. */
function ffmpegChildren(pid: number): number[] {
  return descendants(pid)
    .filter((p) => p.ppid === pid && p.name === 'ffmpeg' && alive(p.pid))
    .map((p) => p.pid);
}

describe('the processor stopping (SIGTERM)', () => {
  it('kills its ffmpeg, deletes the run folder, gives the run back and exits', async () => {
    const runs = join(scratch, 'runs');
    const media = await serveDirectory(scratch);
    const callbacks = await worker();
    const processor = await startProcessor({ KILN_TMP_DIR: runs });
    try {
      const res = await fetch(`${processor.url}/run`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${devVars().PROCESSOR_SECRET}` },
        body: JSON.stringify({
          job_id: JOB_ID,
          attempt: 3,
          kind: 'video',
          options: { width: 1280, quality: 'very_high' },
          input_url: `${media.url}/long.mp4`,
          output: { type: 'file', url: `${callbacks.url}/upload` },
          callback: { url: `${callbacks.url}/events`, token: 'a'.repeat(64) },
        }),
      });
      expect(res.status).toBe(202);
      const [ffmpeg] = await until('the encode to start', () => {
        const found = ffmpegChildren(processor.child.pid!);
        return found.length > 0 ? found : undefined;
      });
      const exited = new Promise<number | null>((r) => processor.child.once('exit', (code) => r(code)));
      processor.child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(() => process.kill(ffmpeg!, 0)).toThrow();
      expect(await readdir(runs)).toEqual([]);
      const terminal = callbacks.events.filter((e) => e.type !== 'progress');
      expect(terminal).toEqual([{ type: 'given_back', attempt: 3, stage: 'encode', reason: 'The processor is stopping (SIGTERM).' }]);
    } finally {
      await processor.stop();
      await callbacks.close();
      await media.close();
    }
  });
});
