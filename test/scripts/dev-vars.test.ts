import { describe, expect, test } from 'vitest';
import { unstable_readConfig } from 'wrangler';
import { readDevVars } from '../../scripts/dev-vars.ts';

describe('.dev.vars.example', () => {
  // With a [secrets] table, wrangler dev loads from .dev.vars only the names wrangler.toml declares
  // (a [vars] entry or a required secret) and silently drops the rest: a development value under
  // any other name would never reach `npm run dev`.
  test('sets only names wrangler.toml declares, so npm run dev sees every one of them', () => {
    const config = unstable_readConfig({ config: 'wrangler.toml' });
    const declared = new Set([...Object.keys(config.vars), ...(config.secrets?.required ?? [])]);
    const dropped = Object.keys(readDevVars(new URL('../../.dev.vars.example', import.meta.url))).filter((name) => !declared.has(name));
    expect(dropped).toEqual([]);
  });
});
