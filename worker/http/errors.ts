import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { type ErrorKind, KilnError } from '../../schemas/errors.ts';

/** The one place where error kinds become HTTP statuses (SPEC §2). */
const STATUS_BY_KIND: Partial<Record<ErrorKind, ContentfulStatusCode>> = {
  invalid_input: 400,
  unauthorized: 401,
  job_not_found: 404,
  not_found: 404,
  idempotency_key_reused: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  processor_busy: 503,
};

export interface Issue {
  path: string;
  message: string;
}

/** A request that failed validation; carries one issue per offending field. */
export class ValidationError extends KilnError {
  readonly issues: Issue[];
  constructor(issues: Issue[]) {
    const summary = issues.map((i) => i.message).join('; ');
    super('invalid_input', summary || 'The request is invalid.');
    this.name = 'ValidationError';
    this.issues = issues;
  }
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
  return path.reduce<string>(
    (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)),
    '',
  );
}

/**
 * Turns zod issues into Kiln's issue list, one sentence per field in sharp's template:
 * "Expected ‹what› for ‹name› but received ‹value› of type ‹type›".
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
        what = `${issue.origin === 'string' ? 'a string of length' : issue.origin === 'array' ? 'an array of length' : 'a number'} ${issue.inclusive ? '>=' : '>'} ${issue.minimum}`;
        break;
      case 'too_big':
        what = `${issue.origin === 'string' ? 'a string of length' : issue.origin === 'array' ? 'an array of length' : 'a number'} ${issue.inclusive ? '<=' : '<'} ${issue.maximum}`;
        break;
      default:
        what = issue.message.replace(/^Expected /, '').replace(/^Invalid /, 'a valid ');
    }
    issues.push({ path: name, message: `Expected ${what} for ${name} but received ${describeValue(received)}` });
  }
  return issues;
}

/** Renders any thrown value as the API's error envelope; unknown errors become a generic 500. */
export function errorResponse(err: unknown, c: Context): Response {
  if (err instanceof ValidationError) {
    return c.json({ kind: err.kind, message: err.message, issues: err.issues }, 400);
  }
  if (err instanceof HTTPException && err.status < 500) {
    // Hono's own body parsing failures (malformed JSON, wrong content type) are the client's to fix.
    const kind = err.status === 413 ? 'payload_too_large' : err.status === 415 ? 'unsupported_media_type' : 'invalid_input';
    return c.json({ kind, message: `${err.message}; send a valid JSON body with Content-Type: application/json.` }, err.status);
  }
  if (err instanceof KilnError) {
    const status = STATUS_BY_KIND[err.kind] ?? 500;
    if (status === 500) console.error('kiln error', err.kind, err.message, err.cause);
    return c.json({ kind: err.kind, message: err.message }, status);
  }
  console.error('unexpected error', err);
  return c.json({ kind: 'internal_error', message: 'Something went wrong on our side; retry the request.' }, 500);
}
