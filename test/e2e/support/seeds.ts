import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const SEEDS = join(import.meta.dirname, '..', 'seeds');
const ITTYBIT_API = 'https://api.ittybit.com';

/**
 * Runs one of the user's snippets (test/e2e/seeds/) as written, with only the base URL, the key
 * and the input URLs swapped, and returns what the snippet's `data` / curl output was.
 */
export async function runSeed(
  file: string,
  opts: { base: string; key: string; inputs?: Record<string, string>; cwd?: string; env?: Record<string, string> },
): Promise<unknown> {
  let code = (await readFile(join(SEEDS, file), 'utf8')).replaceAll(ITTYBIT_API, opts.base);
  for (const [from, to] of Object.entries(opts.inputs ?? {})) code = code.replaceAll(from, to);
  const env = { ...process.env, ITTYBIT_API_KEY: opts.key, ...opts.env };
  const run = promisify(execFile);
  let stdout: string;
  if (file.endsWith('.sh')) {
    ({ stdout } = await run('bash', ['-c', `set -e\n${code}`], { env, cwd: opts.cwd }));
    return stdout.trim().startsWith('{') ? JSON.parse(stdout) : stdout;
  }
  if (file.endsWith('.ts')) {
    // The snippet is plain JavaScript with top-level await; print its `data` for the test.
    ({ stdout } = await run(process.execPath, ['--input-type=module', '-e', `${code}\nconsole.log(JSON.stringify(data));`], { env }));
    return JSON.parse(stdout);
  }
  if (file.endsWith('.py')) {
    const prelude = 'import json, os\nimport requests\napi_key = os.environ["ITTYBIT_API_KEY"]\n';
    ({ stdout } = await run('python3', ['-c', `${prelude}${code}\nprint(json.dumps(data))`], { env }));
    return JSON.parse(stdout);
  }
  return JSON.parse(code);
}

/** Whether python3 with `requests` is available, for the Python snippets. */
export async function hasPythonRequests(): Promise<boolean> {
  try {
    await promisify(execFile)('python3', ['-c', 'import requests']);
    return true;
  } catch {
    return false;
  }
}
