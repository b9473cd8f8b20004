import type { z } from 'zod';

/**
 * One sentence per invalid field, in sharp's template: "Expected ‹what› for ‹name› but received
 * ‹value› of type ‹type›". The API's 400 issues and the processor's own re-validation both use it.
 */
export interface Issue {
  path: string;
  message: string;
}

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

function dotted(path: PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

function bound(issue: { origin: string; inclusive?: boolean }, op: '>' | '<', limit: unknown): string {
  const subject = issue.origin === 'string' ? 'a string of length' : issue.origin === 'array' ? 'an array of length' : 'a number';
  return `${subject} ${op}${issue.inclusive ? '=' : ''} ${String(limit)}`;
}

/**
 * @param input the value that was validated, to quote what was received
 * @param prefix path segments naming where `input` sits (e.g. `['options']`)
 * @example issuesFromZod(err, { width: 0 }, ['options']) // [{ path: 'options.width', message: 'Expected a number >= 1 for options.width but received 0 of type number' }]
 */
export function issuesFromZod(error: z.ZodError, input: unknown, prefix: PropertyKey[] = []): Issue[] {
  const issues: Issue[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const name = dotted([...path, key]);
        issues.push({ path: name, message: `Unknown field ${name}; remove it or check its spelling` });
      }
      continue;
    }
    const name = dotted(path) || 'body';
    if (issue.code === 'custom' && issue.params?.unsupported === true) {
      issues.push({ path: name, message: `${name} is not supported by Kiln; ${issue.message}` });
      continue;
    }
    const received = valueAt(input, issue.path);
    let what: string;
    switch (issue.code) {
      case 'invalid_type':
        what = received === undefined ? `a value (${issue.expected})` : String(issue.expected);
        break;
      case 'invalid_value':
        what = `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
        break;
      case 'too_small':
        what = bound(issue, '>', issue.minimum);
        break;
      case 'too_big':
        what = bound(issue, '<', issue.maximum);
        break;
      default:
        what = issue.message.replace(/^Expected /, '').replace(/^Invalid /, 'a valid ');
    }
    issues.push({ path: name, message: `Expected ${what} for ${name} but received ${describeValue(received)}` });
  }
  return issues;
}
