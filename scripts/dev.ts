import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';

/**
 * `npm run dev`: the Worker under wrangler's local runtime on :8787 and the processor as a local
 * Node process on :8788 (PROCESSOR_URL in .dev.vars). Ctrl-C stops both; if either exits, so does
 * the other.
 */
const PROCESSOR_PORT = '8788';

if (!existsSync('.dev.vars')) {
  copyFileSync('.dev.vars.example', '.dev.vars');
  console.log('Created .dev.vars from .dev.vars.example (development keys; edit it to override).');
}

const children: ChildProcess[] = [];
let stopping = false;

function start(name: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${name} exited (${signal ?? code}); stopping the dev stack.`);
      stop(code ?? 1);
    }
  });
  children.push(child);
  return child;
}

function stop(code: number) {
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 500).unref();
}

start('processor', ['container/main.ts'], { PORT: PROCESSOR_PORT, HOST: '127.0.0.1', KILN_ALLOW_LOOPBACK: 'true' });
start('wrangler', ['node_modules/wrangler/bin/wrangler.js', 'dev', ...process.argv.slice(2)]);

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
