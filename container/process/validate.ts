/**
 * Re-validates job options inside the processor (STYLE habit 5) with the same sentence template
 * as the API: "Expected ‹what› for ‹name› but received ‹value› of type ‹type›".
 */

import type { ErrorBody } from '../../schemas/errors.ts';
import { issuesFromZod } from '../../schemas/issues.ts';
import { type JobKind, type JobOptions, OptionsByKind } from '../../schemas/options.ts';

export type ValidatedOptions = { ok: true; options: JobOptions } | { ok: false; error: ErrorBody };

/**
 * Parses `options` for `kind` strictly (unknown fields are refused by name).
 *
 * @example
 * validateOptions('video', { width: 0 }); // { ok: false, error: { kind: 'invalid_input', message: 'Expected a number >= 1 for options.width …' } }
 */
export function validateOptions(kind: JobKind, options: unknown): ValidatedOptions {
  const schema = OptionsByKind[kind];
  if (!schema)
    return { ok: false, error: { kind: 'invalid_input', message: `Expected a known job kind but received ${JSON.stringify(kind)}` } };
  const parsed = schema.safeParse(options ?? {});
  if (parsed.success) return { ok: true, options: parsed.data };
  const messages = issuesFromZod(parsed.error, options, ['options']).map((issue) => issue.message);
  return { ok: false, error: { kind: 'invalid_input', message: messages.join('; ') } };
}
