import { describe, expect, test } from 'vitest';
import { DEFAULT_LIMITS } from '../../../container/limits.ts';
import { probeInput, standaloneOptionsError } from '../../../container/process/standalone.ts';
import { fixture } from '../../support/media.ts';

describe('probeInput', () => {
  test("describes a local file as an encode's probe would, with the displayed dimensions", async () => {
    const probed = await probeInput({ kind: 'probe', options: {}, inputPath: fixture('rotated.mov'), limits: DEFAULT_LIMITS });
    expect(probed).toMatchObject({ ok: true, info: { kind: 'video', width: 360, height: 640 } });
  });

  test('refuses options before reading the file, naming each one', async () => {
    const probed = await probeInput({ kind: 'copy', options: { quality: 'high' }, inputPath: '/nonexistent', limits: DEFAULT_LIMITS });
    expect(probed).toEqual({
      ok: false,
      error: {
        kind: 'invalid_input',
        message: 'A copy task takes no options: Unknown field options.quality; remove it or check its spelling',
      },
    });
  });

  test('reports cancelled when its signal has fired', async () => {
    const probed = await probeInput({
      kind: 'probe',
      options: {},
      inputPath: fixture('clip.mp4'),
      limits: DEFAULT_LIMITS,
      signal: AbortSignal.abort(),
    });
    expect(probed).toEqual({ ok: false, error: { kind: 'cancelled', message: 'The job was cancelled.' } });
  });
});

describe('standaloneOptionsError', () => {
  test.each([{}, null, undefined])('accepts no options (%o)', (options) => {
    expect(standaloneOptionsError('probe', options)).toBeNull();
  });

  test('refuses options that are not an object', () => {
    expect(standaloneOptionsError('probe', [1])).toEqual({
      kind: 'invalid_input',
      message: 'A probe task takes no options: Expected object for options but received [1] of type array',
    });
  });
});
