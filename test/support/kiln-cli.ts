import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'kiln.js');
/** The CLI needs Node 24 (type stripping); prefer the project's pinned node over whatever runs vitest. */
const NODE = existsSync(join(ROOT, 'node_modules', '.bin', 'node')) ? join(ROOT, 'node_modules', '.bin', 'node') : process.execPath;

/** Variables that would pick credentials or a mode behind a test's back. */
const AMBIENT = [
  'KILN_API_URL',
  'KILN_API_KEY',
  'ITTYBIT_API_URL',
  'ITTYBIT_API_KEY',
  'KILN_CONNECTION',
  'ITTYBIT_CONNECTION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_S3',
  'AWS_PROFILE',
  'AWS_SHARED_CREDENTIALS_FILE',
];

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `kiln` as a user would, in local mode with `home` as HOME and XDG_CONFIG_HOME's parent, so
 * neither the developer's connections nor their AWS credentials take part; `env` adds variables.
 *
 * @example
 * const run = await kilnIn(home, ['connections', 'list']);
 */
export function kilnIn(home: string, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config') };
  for (const name of AMBIENT) delete childEnv[name];
  Object.assign(childEnv, env);
  return new Promise((done) => {
    execFile(NODE, [BIN, ...args], { env: childEnv, cwd: home }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}
