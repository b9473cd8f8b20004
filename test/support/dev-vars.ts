import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The development configuration from .dev.vars.example, so tests on a fresh clone run with the
 * same keys and secrets `npm run dev` uses, without needing a .dev.vars file.
 */
export function devVars(): Record<string, string> {
  const text = readFileSync(fileURLToPath(new URL('../../.dev.vars.example', import.meta.url)), 'utf8');
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) vars[m[1]] = m[2];
  }
  return vars;
}
