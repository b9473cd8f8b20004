import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { devVars } from '../../support/dev-vars.ts';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

/** How long a started process gets to answer /health (the first start compiles nothing; 20 s is generous). */
const START_TIMEOUT_MS = 20_000;

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Polls `url` until it answers 2xx; fails early if `child` exits, with its output. */
export async function waitForHealth(url: string, child: ChildProcess, output: () => string, timeoutMs = START_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode}:\n${output()}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not become healthy in ${timeoutMs} ms:\n${output()}`);
}

export interface StartedProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts the processor exactly as the Dockerfile does (`node container/main.ts`), with only the
 * environment given (plus the dev processor secret, as the Worker's container binding would pass
 * it), and waits for its /health.
 */
export async function startProcessor(env: Record<string, string> = {}, port?: number): Promise<StartedProcess> {
  port ??= env.PORT ? Number(env.PORT) : await freePort();
  let log = '';
  const child = spawn(process.execPath, [join(ROOT, 'container', 'main.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      KILN_ALLOW_LOOPBACK: 'true',
      KILN_PROCESSOR_SECRET: devVars().PROCESSOR_SECRET ?? '',
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(`${url}/health`, child, () => log);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    url,
    child,
    output: () => log,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * Serves a folder over plain HTTP on loopback: the "user's server" that job inputs come from. It
 * counts requests per path and query, so a test can tell how many runs fetched an input.
 */
export async function serveDirectory(dir: string): Promise<{ url: string; requests(path: string): number; close(): Promise<void> }> {
  const counts = new Map<string, number>();
  const server: Server = createServer(async (req, res) => {
    counts.set(req.url ?? '/', (counts.get(req.url ?? '/') ?? 0) + 1);
    const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1));
    const path = resolve(dir, name);
    if (!path.startsWith(resolve(dir))) return void res.writeHead(403).end();
    try {
      const { size } = await stat(path);
      res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' });
      createReadStream(path).pipe(res);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: (path) => counts.get(path) ?? 0,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
