import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, readFileSync } from 'node:fs';
import { readDevVars } from './dev-vars.ts';

/**
 * What `npm run dev` and `npm run dev:containers` share: the development configuration, and a set
 * of child processes that stop together (Ctrl-C stops all; if one exits, so do the others).
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

const WRANGLER = 'node_modules/wrangler/bin/wrangler.js';

export function processGroup() {
  const children: ChildProcess[] = [];
  let stopping = false;

  function stop(code: number) {
    stopping = true;
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    setTimeout(() => process.exit(code), 500).unref();
  }
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));

  return {
    start(name: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
      const child = spawn(process.execPath, args, { stdio: 'inherit', env: { ...process.env, ...env } });
      child.on('exit', (code, signal) => {
        if (!stopping) {
          console.error(`${name} exited (${signal ?? code}); stopping the dev stack.`);
          stop(code ?? 1);
        }
      });
      children.push(child);
      return child;
    },
    /** `wrangler dev` with this project's config and any extra arguments. */
    wrangler(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
      return this.start('wrangler', [WRANGLER, 'dev', ...args], env);
    },
  };
}
