import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { CONTAINER_SLEEP_AFTER } from '../../../worker/constants.ts';
import { containerEnvVars, containerSleepAfter } from '../../../worker/dispatch/container.ts';

describe('the processor container environment', () => {
  it('passes KILN_* vars, the processor secret and loopback access, and nothing else of the Worker', () => {
    const vars = containerEnvVars({ ...env, KILN_CONCURRENCY: '3', KILN_MAX_INPUT_BYTES: '1000' } as Env);
    expect(vars).toEqual({
      KILN_CONCURRENCY: '3',
      KILN_MAX_INPUT_BYTES: '1000',
      KILN_PROCESSOR_SECRET: env.PROCESSOR_SECRET,
      KILN_ALLOW_LOOPBACK: 'true',
    });
    for (const secret of [env.API_KEYS, env.WEBHOOK_SECRET, env.CALLBACK_SECRET, env.R2_SECRET_ACCESS_KEY]) {
      expect(Object.values(vars)).not.toContain(secret);
    }
  });

  it('denies loopback unless the Worker itself allows it', () => {
    expect(containerEnvVars({ ...env, ALLOW_LOOPBACK: 'false' } as Env).KILN_ALLOW_LOOPBACK).toBe('false');
  });
});

describe('CONTAINER_SLEEP_AFTER', () => {
  it("takes the library's syntax and falls back to the default on anything else, which would break every instance", () => {
    expect(containerSleepAfter('20s')).toBe('20s');
    expect(containerSleepAfter('1h')).toBe('1h');
    expect(containerSleepAfter('')).toBe(CONTAINER_SLEEP_AFTER);
    for (const bad of ['600', '10min', '1d', '-5s']) expect(containerSleepAfter(bad)).toBe(CONTAINER_SLEEP_AFTER);
  });
});
