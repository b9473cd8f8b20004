/**
 * A JSON argument as users give it: a file, `-` for stdin, or the JSON itself (`kiln jobs create
 * --body`, `kiln recipe`).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { CliError } from '../schemas/errors.ts';

/**
 * The JSON `raw` names, or an error naming `name` (the flag or argument it came from).
 *
 * @example
 * await readJson('job.json', '--body'); // { ok: true, json: { input: … } }
 * await readJson('{"outputs":[…]}', 'the recipe');
 */
export async function readJson(raw: string, name: string): Promise<{ ok: true; json: unknown } | { ok: false; error: CliError }> {
  let text = raw;
  let from = name;
  if (raw === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
    from = `${name} - (stdin)`;
  } else if (!/^\s*[[{]/.test(raw)) {
    if (!existsSync(raw))
      return {
        ok: false,
        error: { kind: 'invalid_input', message: `Expected ${name} to be JSON, - or a file, but there is no file ${raw}` },
      };
    text = await readFile(raw, 'utf8');
    from = `${name} ${raw}`;
  }
  try {
    return { ok: true, json: JSON.parse(text) };
  } catch (err) {
    return { ok: false, error: { kind: 'invalid_input', message: `Expected JSON in ${from}: ${(err as Error).message}` } };
  }
}
