import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

/**
 * Reads a `.dev.vars` file with the dotenv rules wrangler applies to it (quotes, `#` comments),
 * so the processor started beside the Worker gets exactly the secret the Worker sees.
 */
export function readDevVars(path: string | URL): Record<string, string> {
  return parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
}
