import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { containerEnvVars } from '../../../worker/dispatch/container.ts';

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
