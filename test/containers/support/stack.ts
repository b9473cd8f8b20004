import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inject } from 'vitest';
import { CONTAINER_DEV_ARGS } from '../../../scripts/docker.ts';
import { waitForHealth } from '../../e2e/support/processes.ts';
import { apiClient } from '../../support/api-client.ts';
import { devVars } from '../../support/dev-vars.ts';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

/**
 * The port the Worker listens on. Inside a container, requests to the Worker's origin
 * (callbacks, presigned local R2 URLs) go to 127.0.0.1 on this port and are forwarded to the
 * host, so the container stack cannot move to a free port the way the e2e harness does.
 */
export const WORKER_PORT = 8787;

/** Building the image on a cold Docker cache (apt-get of ffmpeg) takes minutes on slow storage. */
const START_TIMEOUT_MS = 10 * 60_000;

/** Docker as the global setup found it (test/support/containers-setup.ts), or null: skip the tier. */
export const dockerEnv = inject('dockerEnv');

function docker(args: string[]): string {
  return execFileSync(dockerEnv?.WRANGLER_DOCKER_BIN || 'docker', args, {
    env: { ...process.env, ...dockerEnv },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** How long wrangler gets to remove its containers after it exits before the stack removes them. */
const CONTAINER_CLEANUP_MS = 20_000;

/** The running processor containers of this Worker (not their network sidecars). */
export function processorContainers(): { id: string; name: string; image: string }[] {
  return docker(['ps', '--filter', 'name=kiln-ProcessorContainer-', '--format', '{{.ID}} {{.Names}} {{.Image}}'])
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id = '', name = '', image = ''] = line.split(' ');
      return { id, name, image };
    })
    .filter((c) => !c.name.endsWith('-proxy'));
}

const UNITS: Record<string, number> = { B: 1 / 1024 ** 2, KiB: 1 / 1024, MiB: 1, GiB: 1024 };

/** Memory each running processor container uses now, in MiB (docker stats). */
export function containerMemoryMiB(): number[] {
  return docker(['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}'])
    .split('\n')
    .filter((line) => line.includes('kiln-ProcessorContainer-') && !line.split(' ')[0]!.endsWith('-proxy'))
    .map((line) => {
      const m = /\s([\d.]+)(B|KiB|MiB|GiB) \//.exec(line);
      return m ? Number(m[1]) * (UNITS[m[2]!] ?? 1) : 0;
    });
}

/** `docker kill`: the container dies at once, as when its machine fails. */
export function killContainer(id: string): void {
  docker(['kill', id]);
}

async function portInUse(port: number): Promise<boolean> {
  return new Promise((r) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      r(true);
    });
    socket.once('error', () => r(false));
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Kiln as `npm run dev:containers` runs it: `wrangler dev` building the Dockerfile and starting
 * ProcessorContainer on demand, with `vars` layered over the development values and
 * `maxInstances` as wrangler.toml's `max_instances`. State goes to a temporary folder.
 */
export async function startContainerStack(opts: { vars: Record<string, string>; maxInstances: number }) {
  if (!dockerEnv) throw new Error('no Docker engine');
  if (await portInUse(WORKER_PORT)) {
    throw new Error(`Port ${WORKER_PORT} is in use: the container tier needs it (stop npm run dev / dev:containers first).`);
  }
  const toml = (await readFile(join(ROOT, 'wrangler.toml'), 'utf8')).replace(
    /^max_instances = \d+$/m,
    `max_instances = ${opts.maxInstances}`,
  );
  const configPath = join(ROOT, 'wrangler.containers-test.generated.toml');
  await writeFile(configPath, toml);
  const persist = await mkdtemp(join(tmpdir(), 'kiln-containers-'));
  // Containers left by someone else's wrangler are not this stack's to remove.
  const foreign = new Set(processorContainers().map((c) => c.id));
  const { PROCESSOR_URL: _selfHosted, ...dev } = devVars();
  const vars = { ...dev, CONTAINER_INSTANCES: String(opts.maxInstances), ...opts.vars };
  let log = '';
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'node_modules/wrangler/bin/wrangler.js'),
      'dev',
      '-c',
      configPath,
      '--port',
      String(WORKER_PORT),
      '--persist-to',
      persist,
      '--show-interactive-dev-session=false',
      ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
      ...CONTAINER_DEV_ARGS,
    ],
    { cwd: ROOT, env: { ...process.env, ...dockerEnv }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const base = `http://127.0.0.1:${WORKER_PORT}`;
  const started = Date.now();
  try {
    await waitForHealth(`${base}/health`, child, () => log.slice(-5000), START_TIMEOUT_MS);
  } catch (err) {
    await stopProcess(child);
    throw err;
  }
  const startupMs = Date.now() - started;
  const client = apiClient(base, () => log.slice(-8000));

  return {
    base,
    startupMs,
    ...client,
    output: () => log,
    /** Uploads a local file with POST /uploads and the presigned PUT, as the README walkthrough does. */
    async upload(path: string, contentType: string): Promise<string> {
      const { body } = await client.api<{ upload_url: string; file: { id: string } }>('/uploads', {
        method: 'POST',
        json: { filename: path.split('/').pop(), content_type: contentType },
      });
      const put = await fetch(body.upload_url, { method: 'PUT', body: await readFile(path), headers: { 'content-type': contentType } });
      if (!put.ok) throw new Error(`upload failed: ${put.status} ${await put.text()}`);
      return body.file.id;
    },
    async close() {
      await stopProcess(child);
      const deadline = Date.now() + CONTAINER_CLEANUP_MS;
      const ours = () => processorContainers().filter((c) => !foreign.has(c.id));
      while (ours().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
      for (const c of ours()) {
        try {
          docker(['rm', '-f', c.id]);
        } catch {
          // wrangler removed it meanwhile
        }
      }
      await rm(persist, { recursive: true, force: true });
      await rm(configPath, { force: true });
    },
  };
}

export type ContainerStack = Awaited<ReturnType<typeof startContainerStack>>;
