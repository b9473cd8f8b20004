import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { readDevVars } from './dev-vars.ts';
import { portHolder } from './port-holder.ts';
import { bindingsReprintFilter } from './wrangler-output.ts';

/**
 * What `npm run dev` and `npm run dev:containers` share: the development configuration, a check
 * that the stack's ports are free, and a set of child processes that stop together however the
 * stack is stopped (Ctrl-C, SIGTERM or SIGHUP to it or to npm, its parent dying, one child exiting).
 */

/**
 * Creates .dev.vars from the example on first run, adds settings the example gained since (a
 * .dev.vars from an older checkout), and returns its values.
 */
export function devVarsFile(): Record<string, string> {
  if (!existsSync('.dev.vars')) {
    copyFileSync('.dev.vars.example', '.dev.vars');
    console.log('Created .dev.vars from .dev.vars.example (development keys; edit it to override).');
  }
  const vars = readDevVars('.dev.vars');
  const example = readFileSync('.dev.vars.example', 'utf8').split('\n');
  const missing = Object.keys(readDevVars('.dev.vars.example')).filter((name) => !(name in vars));
  if (missing.length > 0) {
    // The example's own lines, so quoting and comments survive.
    const lines = missing.map((name) => example.find((line) => line.trimStart().startsWith(`${name}=`)) ?? '');
    appendFileSync('.dev.vars', `\n${lines.join('\n')}\n`);
    console.log(`Added ${missing.join(', ')} to .dev.vars from .dev.vars.example.`);
    Object.assign(vars, readDevVars('.dev.vars'));
  }
  return vars;
}

/**
 * Exits with one line naming the first of `ports` something already listens on, and what, before
 * anything is started: wrangler and the processor would otherwise each print a stack trace.
 */
export async function requireFreePorts(ports: Array<{ port: number; host: string; what: string }>): Promise<void> {
  for (const { port, host, what } of ports) {
    const holder = await portHolder(port, host);
    if (holder === null) continue;
    console.error(`Port ${port} (${what}) is already in use by ${holder}: stop that process (or free the port), then run this again.`);
    process.exit(1);
  }
}

const WRANGLER = 'node_modules/wrangler/bin/wrangler.js';

/**
 * wrangler's hotkeys read the terminal, which a process outside the terminal's foreground group
 * may not do (it would be stopped by SIGTTIN); Ctrl-C stops the stack instead of `x`.
 */
const WRANGLER_QUIET_ARGS = ['--show-interactive-dev-session=false'];

/**
 * wrangler's environment in development. Kiln never reads `request.cf`, so miniflare's fetch of
 * it from workers.cloudflare.com (which fails, and says so twice, on an offline machine) is off;
 * wrangler's output is piped through a filter (./wrangler-output.ts), so colours are asked for
 * when the terminal has them.
 */
function wranglerEnv(): NodeJS.ProcessEnv {
  const colour = process.stdout.isTTY && process.env.NO_COLOR === undefined && process.env.FORCE_COLOR === undefined;
  return { CLOUDFLARE_CF_FETCH_ENABLED: 'false', ...(colour ? { FORCE_COLOR: '1' } : {}) };
}

/** wrangler waits this long between the last line of a table and the next line it prints. */
const OUTPUT_FLUSH_MS = 300;

/** Copies wrangler's stdout to ours, less the repeated bindings table. */
function relayWranglerOutput(child: ChildProcess): void {
  if (!child.stdout) return;
  const filter = bindingsReprintFilter();
  const print = (lines: string[]) => {
    for (const line of lines) process.stdout.write(`${line}\n`);
  };
  let idle: NodeJS.Timeout | undefined;
  createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY })
    .on('line', (line) => {
      clearTimeout(idle);
      print(filter.line(line));
      idle = setTimeout(() => print(filter.flush()), OUTPUT_FLUSH_MS);
    })
    .on('close', () => {
      clearTimeout(idle);
      print(filter.flush());
    });
}

/**
 * Longest a stopping child gets before it is killed: the processor's own bound for giving its runs
 * back (container/main.ts SHUTDOWN_GRACE_MS) plus a margin; wrangler stops workerd in about a second.
 */
const CHILD_STOP_TIMEOUT_MS = 12_000;
/** How often a stop looks whether a process group has gone, and the stack whether its parent has. */
const STOP_POLL_MS = 100;
const PARENT_POLL_MS = 500;

/**
 * One child of the stack, in its own process group: the terminal's Ctrl-C reaches only the stack's
 * script, which stops the children in order (the processor gives its runs back to the Worker
 * before wrangler stops), and a whole group (wrangler, its CLI and workerd; the processor and its
 * ffmpeg) can be killed at once.
 */
export interface StackMember {
  name: string;
  pid: number;
  /** Whether SIGTERM goes to the whole group (wrangler's launcher does not pass it on) or to the leader only (the processor stops its own ffmpeg). */
  signalGroup: boolean;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/**
 * Stops `members` one after another: SIGTERM, then SIGKILL to the whole group once
 * CHILD_STOP_TIMEOUT_MS have passed. Waits for each group to be gone, so nothing is left holding
 * a port when it returns. The stack's script and its watchdog (./dev-watchdog.ts) both use it.
 */
export async function stopInOrder(members: StackMember[]): Promise<void> {
  for (const m of members) {
    if (!groupAlive(m.pid)) continue;
    signal(m.signalGroup ? -m.pid : m.pid, 'SIGTERM');
    const deadline = Date.now() + CHILD_STOP_TIMEOUT_MS;
    while (groupAlive(m.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, STOP_POLL_MS));
    // The leader is gone but may have left children behind (an ffmpeg, a workerd).
    signal(-m.pid, 'SIGKILL');
    while (groupAlive(m.pid) && Date.now() < deadline + CHILD_STOP_TIMEOUT_MS) await new Promise((r) => setTimeout(r, STOP_POLL_MS));
  }
}

/**
 * A watchdog outside the stack's process: if the stack's script dies without stopping its
 * children (SIGKILL, a crash), the watchdog sees its stdin close and stops them in order.
 */
function startWatchdog(): ChildProcess {
  const watchdog = spawn(process.execPath, ['scripts/dev-watchdog.ts'], { detached: true, stdio: ['pipe', 'ignore', 'inherit'] });
  watchdog.unref();
  return watchdog;
}

/**
 * The process that started this script (npm's `sh -c`, or a shell), read as the module loads: a
 * parent that dies during the port check or the dashboard build, before processGroup() is
 * called, must still count as gone.
 */
const ORIGINAL_PARENT = process.ppid;

export function processGroup() {
  const members: StackMember[] = [];
  const watchdog = startWatchdog();
  let stopping = false;

  async function stop(code: number, why: string | null) {
    if (stopping) return;
    stopping = true;
    if (why) console.error(why);
    await stopInOrder(members);
    if (!why) console.log('Stopped the dev stack.');
    process.exit(code);
  }
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void stop(0, null));
  // npm run dev execs this script, so its parent is npm: when npm is stopped however (an IDE's
  // SIGTERM, SIGKILL), this script gets a new parent, which is the sign to stop.
  setInterval(() => {
    if (process.ppid !== ORIGINAL_PARENT) void stop(0, null);
  }, PARENT_POLL_MS).unref();

  return {
    /** Starts `args` with this Node; the children stop in the order they were started. */
    start(name: string, args: string[], env: NodeJS.ProcessEnv = {}, signalGroup = false, pipeOutput = false): ChildProcess {
      const child = spawn(process.execPath, args, {
        stdio: ['ignore', pipeOutput ? 'pipe' : 'inherit', 'inherit'],
        env: { ...process.env, ...env },
        detached: true,
      });
      if (child.pid === undefined) throw new Error(`${name} could not be started`);
      // Once the stack is stopping, stop() ignores the exits it causes.
      child.on('exit', (code, sig) => void stop(code || 1, `${name} exited (${sig ?? code}); stopping the dev stack.`));
      const member: StackMember = { name, pid: child.pid, signalGroup };
      members.push(member);
      watchdog.stdin?.write(`${JSON.stringify(member)}\n`);
      return child;
    },
    /** `wrangler dev` with this project's config and any extra arguments. */
    wrangler(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
      const child = this.start('wrangler', [WRANGLER, 'dev', ...WRANGLER_QUIET_ARGS, ...args], { ...wranglerEnv(), ...env }, true, true);
      relayWranglerOutput(child);
      return child;
    },
  };
}
