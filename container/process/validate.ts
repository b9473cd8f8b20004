/**
 * Re-validates job options inside the processor (STYLE habit 5) with the same sentence template
 * as the API: "Expected ‹what› for ‹name› but received ‹value› of type ‹type›".
 * TODO(shared): worker/http/errors.ts has the same formatter; move one copy to schemas/.
 */
import type { z } from 'zod';
import type { ErrorBody } from '../../schemas/errors.ts';
import { type JobKind, type JobOptions, OptionsByKind } from '../../schemas/options.ts';

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  const shown = JSON.stringify(value);
  return `${shown && shown.length <= 60 ? shown : type} of type ${type}`;
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let cur = input;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function issueMessage(issue: z.core.$ZodIssue, input: unknown): string[] {
  const name = ['options', ...issue.path.map(String)].join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `Unknown field ${name}.${key}; remove it or check its spelling`);
  }
  const received = valueAt(input, issue.path);
  let what: string;
  switch (issue.code) {
    case 'invalid_type':
      what = String(issue.expected);
      break;
    case 'invalid_value':
      what = `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'too_small':
      what = `a number ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}`;
      break;
    case 'too_big':
      what = `a number ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}`;
      break;
    default:
      what = issue.message.replace(/^Expected /, '').replace(/^Invalid /, 'a valid ');
  }
  return [`Expected ${what} for ${name} but received ${describeValue(received)}`];
}

export type ValidatedOptions = { ok: true; options: JobOptions } | { ok: false; error: ErrorBody };

/**
 * Parses `options` for `kind` strictly (unknown fields are refused by name).
 *
 * @example
 * validateOptions('video', { width: 0 }); // { ok: false, error: { kind: 'invalid_input', message: 'Expected a number >= 1 for options.width …' } }
 */
export function validateOptions(kind: JobKind, options: unknown): ValidatedOptions {
  const schema = OptionsByKind[kind];
  if (!schema) return { ok: false, error: { kind: 'invalid_input', message: `Expected a known job kind but received ${describeValue(kind)}` } };
  const parsed = schema.safeParse(options ?? {});
  if (parsed.success) return { ok: true, options: parsed.data };
  const messages = parsed.error.issues.flatMap((issue) => issueMessage(issue, options));
  return { ok: false, error: { kind: 'invalid_input', message: messages.join('; ') } };
}
