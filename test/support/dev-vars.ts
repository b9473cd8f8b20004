import { readDevVars } from '../../scripts/dev-vars.ts';

/**
 * The development configuration from .dev.vars.example, so tests on a fresh clone run with the
 * same keys and secrets `npm run dev` uses, without needing a .dev.vars file.
 */
export function devVars(): Record<string, string> {
  return readDevVars(new URL('../../.dev.vars.example', import.meta.url));
}
