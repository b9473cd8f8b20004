import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Job } from '../../schemas/job.ts';
import { portHolder } from '../../scripts/port-holder.ts';
import { acquireE2eLock } from '../e2e/support/lock.ts';
import { serveDirectory } from '../e2e/support/processes.ts';
import { apiClient } from '../support/api-client.ts';
import { alive, descendants } from '../support/proc.ts';
import { until } from '../support/until.ts';

/**
 * `npm run dev` as a user runs it, on its own ports 8787 and 8788 (so these tests take an e2e slot
 * like every other whole stack), stopped the ways a terminal, an IDE or a process manager stops it.
 */
const ROOT = resolve(import.meta.dirname, '..', '..');
const WORKER = 'http://127.0.0.1:8787';
const PROCESSOR = 'http://127.0.0.1:8788';
/** wrangler's first start on a busy two-core machine; the stack answers in about 5 s when quiet. */
const START_TIMEOUT_MS = 60_000;
/** The processor's bound for giving its runs back (10 s) plus wrangler's stop, with a margin. */
const STOP_TIMEOUT_MS = 25_000;
/** Seconds the clip for the Ctrl-C drill lasts: long enough that its encode is still running when the signal comes. */
const LONG_CLIP_S = 10;

// The project's Node 24 first on PATH, as npm scripts see it (the machine's own node may be older).
const PATH = `${dirname(process.execPath)}:${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`;

let lock: { release(): Promise<void> };
let scratch: string;
/** Every stack a test started, stopped after the file whatever the tests did. */
const started: Dev[] = [];

beforeAll(async () => {
  lock = await acquireE2eLock();
  scratch = await mkdtemp(join(tmpdir(), 'kiln-dev-test-'));
});
afterAll(async () => {
  for (const dev of started) {
    if (dev.npm.exitCode !== null || dev.npm.signalCode !== null) continue;
    dev.npm.kill('SIGTERM');
    await dev.exited;
  }
  await lock?.release();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

interface Dev {
  /** npm's pid, which is also its process group's, as a terminal's foreground job. */
  npm: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** `npm run dev -- <args>` in a process group of its own, as a shell starts a foreground job. */
function runDev(args: string[], env: Record<string, string> = {}): Dev {
  let log = '';
  const npm = spawn('npm', ['run', 'dev', '--', ...args], {
    cwd: ROOT,
    env: { ...process.env, PATH, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  npm.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  npm.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((r) => npm.once('exit', (code) => r(code)));
  const dev = { npm, output: () => log, exited };
  started.push(dev);
  return dev;
}

const healthy = (url: string) =>
  fetch(`${url}/health`).then(
    (r) => r.ok,
    () => false,
  );

async function startDev(args: string[], env: Record<string, string> = {}): Promise<Dev> {
  const dev = runDev(args, env);
  await until(
    'the dev stack to answer on 8787 and 8788',
    async () => {
      if (dev.npm.exitCode !== null) throw new Error(`npm run dev exited with ${dev.npm.exitCode}\n${dev.output()}`);
      return (await healthy(WORKER)) && (await healthy(PROCESSOR)) ? true : undefined;
    },
    START_TIMEOUT_MS,
    dev.output,
  );
  return dev;
}

/** Waits until nothing listens on 8787 or 8788 and none of `pids` is alive. */
async function stackGone(pids: number[], dev: Dev): Promise<void> {
  await until(
    'the whole stack to stop',
    async () => {
      const left = pids.filter(alive);
      const ports = [(await portHolder(8787, '127.0.0.1')) === null, (await portHolder(8788, '127.0.0.1')) === null];
      return left.length === 0 && ports.every(Boolean) ? true : undefined;
    },
    STOP_TIMEOUT_MS,
    () => `${dev.output()}\nstill alive: ${JSON.stringify(descendants(1).filter((p) => pids.includes(p.pid)))}`,
  );
}

describe('npm run dev', () => {
  test('SIGTERM to npm stops the whole stack: processor, wrangler and workerd, and both ports', async () => {
    const dev = await startDev(['--persist-to', join(scratch, 'state-term')]);
    const stack = descendants(dev.npm.pid!);
    expect(stack.map((p) => p.cmd).join('\n')).toMatch(/container\/main\.ts[\s\S]*workerd|workerd[\s\S]*container\/main\.ts/);
    process.kill(dev.npm.pid!, 'SIGTERM');
    await stackGone(
      stack.map((p) => p.pid),
      dev,
    );
    await dev.exited;
    expect(dev.output()).toContain('Stopped the dev stack.');
    expect(dev.output()).not.toMatch(/exited \(\w+\); stopping the dev stack/);
  }, 120_000);

  test('SIGKILL of the stack script itself still stops its children, through the watchdog', async () => {
    const dev = await startDev(['--persist-to', join(scratch, 'state-kill')]);
    const stack = descendants(dev.npm.pid!);
    const script = stack.find((p) => p.cmd.includes('scripts/dev.ts'));
    expect(script).toBeDefined();
    process.kill(script!.pid, 'SIGKILL');
    await stackGone(
      stack.map((p) => p.pid),
      dev,
    );
  }, 120_000);

  test('a port already taken gives one line naming the port and its holder, and starts nothing', async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(8788, '127.0.0.1', r));
    try {
      const dev = runDev([]);
      const code = await dev.exited;
      expect(code).not.toBe(0);
      const lines = dev
        .output()
        .split('\n')
        .filter((l) => l.trim() && !l.startsWith('>'));
      expect(lines).toEqual([
        `Port 8788 (the processor) is already in use by pid ${process.pid} (${readFileSync(`/proc/${process.pid}/cmdline`, 'utf8').split('\0').join(' ').trim()}): stop that process (or free the port), then run this again.`,
      ]);
      expect(await portHolder(8787, '127.0.0.1')).toBeNull();
    } finally {
      await new Promise<void>((r) => holder.close(() => r()));
    }
  });

  test('Ctrl-C mid-encode stops ffmpeg, deletes the run folder and gives the job back; the next start finishes it', async () => {
    const clip = join(scratch, 'long.mp4');
    execFileSync('ffmpeg', [
      ...['-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=30:duration=${LONG_CLIP_S}`],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip],
    ]);
    const media = await serveDirectory(scratch);
    const runs = join(scratch, 'runs');
    const state = join(scratch, 'state-int');
    const env = { KILN_TMP_DIR: runs };
    try {
      let dev = await startDev(['--persist-to', state], env);
      const { api, waitForJob } = apiClient(WORKER, () => dev.output());
      const { body: created } = await api<Job>('/jobs', {
        method: 'POST',
        json: { input: `${media.url}/long.mp4`, kind: 'video', options: { width: 1280, quality: 'very_high' } },
      });
      const ffmpeg = await until(
        'the encode to be running',
        () => descendants(dev.npm.pid!).find((p) => /^\S*ffmpeg /.test(p.cmd) && p.cmd.includes(runs)),
        START_TIMEOUT_MS,
        () => `${dev.output()}\n${JSON.stringify(descendants(dev.npm.pid!), null, 1)}`,
      );
      expect(await readdir(runs)).toHaveLength(1);
      const stack = descendants(dev.npm.pid!);
      // A terminal's Ctrl-C: SIGINT to every process of the foreground job.
      process.kill(-dev.npm.pid!, 'SIGINT');
      await stackGone(
        stack.map((p) => p.pid),
        dev,
      );
      expect(alive(ffmpeg.pid)).toBe(false);
      expect(await readdir(runs)).toEqual([]);
      expect(dev.output()).toContain('Stopped the dev stack.');
      expect(dev.output()).not.toMatch(/exited \(\w+\); stopping the dev stack/);

      dev = await startDev(['--persist-to', state], env);
      try {
        const job = await waitForJob(created.id, 90_000);
        expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
        const events = (await api<Array<{ type: string; detail: unknown }>>(`/jobs/${created.id}/events`)).body;
        const types = events.map((e) => e.type);
        expect(types).toContain('run_given_back');
        expect(types).not.toContain('run_lost');
        expect(events.find((e) => e.type === 'run_given_back')?.detail).toMatchObject({
          attempt: 1,
          stage: 'encode',
          reason: 'The processor is stopping (SIGTERM).',
        });
      } finally {
        process.kill(dev.npm.pid!, 'SIGTERM');
        await dev.exited;
      }
    } finally {
      await media.close();
    }
    expect(existsSync(runs) ? await readdir(runs) : []).toEqual([]);
  }, 240_000);
});
