import { readFileSync } from 'node:fs';

/**
 * Reads a `.dev.vars`-style file (KEY=VALUE lines, `#` comments), as wrangler does for the Worker,
 * so the processor started beside it gets the same secret.
 */
export function readDevVars(path: string | URL): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^([A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) vars[m[1]] = m[2];
  }
  return vars;
}
