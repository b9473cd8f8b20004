import fc from 'fast-check';
import { z } from 'zod';
import { ErrorKind } from '../../schemas/errors.ts';
import type { JsonSchema } from '../../schemas/json-schema.ts';

/**
 * Shared pieces of the fuzz suites (test/worker/fuzz.test.ts, test/container/server/fuzz.test.ts):
 * arbitraries derived from the zod request schemas, the ways a fuzzer bends a valid body, raw
 * garbage, and the one assertion every answer must pass.
 */

/** Runs per property: the default keeps `npm test` inside its budget; `FUZZ_RUNS=5000` digs deeper. */
export function fuzzRuns(fallback: number, env: Record<string, unknown> = {}): number {
  const asked = Number(env.FUZZ_RUNS ?? Number.NaN);
  return Number.isInteger(asked) && asked > 0 ? asked : fallback;
}

/** A JSON value small enough to stand in for `z.unknown()`. */
const anyJson = fc.jsonValue({ maxDepth: 2 });

/** Bounds a schema's limits so generated values stay small: the huge ones come from {@link perturbed}. */
const cap = (max: number | undefined, at: number) => Math.min(max ?? at, at);

function fromJsonSchema(schema: JsonSchema, defs: Record<string, JsonSchema>): fc.Arbitrary<unknown> {
  if (schema.$ref) return fromJsonSchema(defs[schema.$ref.replace('#/$defs/', '')] ?? {}, defs);
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return fc.oneof(...union.map((s) => fromJsonSchema(s, defs)));
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (Array.isArray(schema.type)) return fc.oneof(...schema.type.map((type) => fromJsonSchema({ ...schema, type }, defs)));
  switch (schema.type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({ min: Math.max(schema.minimum ?? -1e9, -1e9), max: Math.min(schema.maximum ?? 1e9, 1e9) });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e9, max: schema.maximum ?? 1e9, noNaN: true, noDefaultInfinity: true });
    case 'string': {
      if (schema.format === 'uri') return fc.webUrl();
      const minLength = schema.minLength ?? 0;
      const maxLength = cap(schema.maxLength, 40);
      if (schema.pattern) {
        return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= minLength && s.length <= (schema.maxLength ?? 4096));
      }
      return fc.string({ minLength, maxLength: Math.max(minLength, maxLength) });
    }
    case 'array':
      return fc.array(schema.items ? fromJsonSchema(schema.items, defs) : anyJson, {
        minLength: schema.minItems ?? 0,
        maxLength: Math.max(schema.minItems ?? 0, cap(schema.maxItems, 4)),
      });
    case 'object': {
      if (schema.properties) {
        const props = Object.fromEntries(Object.entries(schema.properties).map(([k, s]) => [k, fromJsonSchema(s, defs)]));
        return fc.record(props, { requiredKeys: schema.required ?? [] });
      }
      const values = typeof schema.additionalProperties === 'object' ? fromJsonSchema(schema.additionalProperties, defs) : anyJson;
      const keys = schema.propertyNames
        ? (fromJsonSchema(schema.propertyNames, defs) as fc.Arbitrary<string>)
        : fc.string({ maxLength: 12 });
      return fc.dictionary(keys, values, { maxKeys: 4 });
    }
    default:
      return anyJson;
  }
}

/**
 * Values the schema accepts (or nearly: refinements such as "end after start" are not in JSON
 * Schema), generated from its JSON Schema. `fields` replaces the arbitrary of top-level fields
 * whose valid values the schema cannot express, such as an options object that depends on `kind`.
 */
export function fromZod(schema: z.ZodType, fields: Record<string, fc.Arbitrary<unknown>> = {}): fc.Arbitrary<Record<string, unknown>> {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const root = json.$ref ? (json.$defs?.[json.$ref.replace('#/$defs/', '')] ?? json) : json;
  const defs = json.$defs ?? {};
  if (!root.properties) return fromJsonSchema(root, defs) as fc.Arbitrary<Record<string, unknown>>;
  const props: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [key, s] of Object.entries(root.properties)) props[key] = fields[key] ?? fromJsonSchema(s, defs);
  return fc.record(props, { requiredKeys: root.required ?? [] });
}

/** A string long enough to find missing length limits: up to 2 MB, the size the issue reports as a 500. */
export const hugeString = fc
  .tuple(fc.constantFrom(5_000, 70_000, 300_000, 2_100_000), fc.constantFrom('a', 'é', '😀', '\u0000', '%', '/'))
  .map(([n, c]) => c.repeat(Math.ceil(n / c.length)));

/** Strings that break naive handling: control characters, lone surrogates, RTL marks, path tricks. */
export const oddString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', ' ', '\u0000', '\ud800', '\u202e', '../../etc/passwd', '%00', '%2F..%2F', 'null', '__proto__', '1e400', '-0', '🎞️'),
);

const nested = (depths: number[]) =>
  fc
    .tuple(fc.constantFrom(...depths), fc.boolean())
    .map(([depth, objects]) => (objects ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` : `${'['.repeat(depth)}${']'.repeat(depth)}`));

/** Deeply nested arrays and objects, as text: JSON.parse takes them, recursion over them may not. */
export const deepJsonText = nested([100, 5_000, 100_000]);

/** Any JSON value, now and then a large or deep one. */
export const garbageValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: oddString },
  { weight: 1, arbitrary: fc.constantFrom(-1, 0, 1.5, 2 ** 53, -(2 ** 63), 1e308, -1e-308, true, false, null, [], {}) },
  // Deep enough to trip recursive code, shallow enough for the fuzzer's own JSON.stringify.
  { weight: 1, arbitrary: nested([100, 2_000]).map((text) => JSON.parse(text) as unknown) },
);

type Json = unknown;
type Path = (string | number)[];

function pathsOf(value: Json, at: Path = []): Path[] {
  const here = [at];
  if (Array.isArray(value)) return here.concat(value.flatMap((v, i) => pathsOf(v, [...at, i])));
  if (value && typeof value === 'object') return here.concat(Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...at, k])));
  return here;
}

function edit(value: Json, path: Path, change: (parent: Record<string | number, Json>, key: string | number) => void): Json {
  const copy = structuredClone(value);
  if (path.length === 0) {
    const box: Record<string, Json> = { root: copy };
    change(box, 'root');
    return box.root;
  }
  let parent = copy as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, Json>;
  change(parent, path.at(-1) as string | number);
  return copy;
}

/** The ways {@link perturbed} bends one field of a valid value. */
const MUTATIONS = ['wrong_type', 'odd_string', 'nested_garbage', 'drop_key', 'extra_key'] as const;
/** Oversized values: a field replaced by a huge string, or a valid string made huge by a long tail (still a URL, still s3://…). */
const HUGE_MUTATIONS = ['huge_string', 'long_tail'] as const;
type Mutation = (typeof MUTATIONS)[number] | (typeof HUGE_MUTATIONS)[number];

/**
 * A valid value with one field bent: replaced by another type, an odd string or nested garbage,
 * or a key dropped or added; with `huge`, a 5 KB–2 MB string instead.
 */
export function perturbed(valid: fc.Arbitrary<Json>, { huge = false } = {}): fc.Arbitrary<Json> {
  const mutations: readonly Mutation[] = huge ? HUGE_MUTATIONS : MUTATIONS;
  return valid.chain((value) =>
    fc
      .tuple(
        fc.constantFrom(...pathsOf(value)),
        fc.constantFrom(...mutations),
        garbageValue,
        oddString,
        hugeString,
        fc.oneof(oddString, fc.constantFrom('__proto__', 'constructor', 'toJSON', 'extra')),
      )
      .map(([path, mutation, garbage, odd, long, extraKey]) =>
        edit(value, path, (parent, key) => {
          const target = parent[key];
          if (mutation === 'wrong_type') parent[key] = typeof target === 'number' ? String(target) : garbage;
          else if (mutation === 'odd_string') parent[key] = odd;
          else if (mutation === 'huge_string') parent[key] = long;
          else if (mutation === 'long_tail')
            parent[key] = typeof target === 'string' ? `${target}${target.endsWith('/') ? '' : '/'}${long}` : long;
          else if (mutation === 'nested_garbage') parent[key] = { [extraKey]: [garbage, { [key]: garbage }] };
          else if (mutation === 'drop_key') {
            if (Array.isArray(parent)) parent.splice(Number(key), 1);
            else delete parent[key];
          } else if (target && typeof target === 'object' && !Array.isArray(target)) {
            Object.defineProperty(target, extraKey, { value: garbage, enumerable: true, writable: true, configurable: true });
          } else parent[key] = { value: target, [extraKey]: garbage };
        }),
      ),
  );
}

/** One copy of `value` per string in it, that string given a tail of `chars` characters (`s3://b/k` stays an s3:// URL). */
export function withLongTails(value: Json, chars: number): Json[] {
  return pathsOf(value)
    .filter((path) => typeof path.reduce<Json>((v, k) => (v as Record<string | number, Json>)[k], value) === 'string')
    .map((path) =>
      edit(value, path, (parent, key) => {
        const target = parent[key] as string;
        parent[key] = `${target}${target.endsWith('/') ? '' : '/'}${'a'.repeat(chars)}`;
      }),
    );
}

/** The longest string in a JSON text, with its dotted path; null when the text is not JSON. */
export function longestString(text: string): { path: string; length: number } | null {
  let value: Json;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  let best = { path: '', length: -1 };
  for (const path of pathsOf(value)) {
    const leaf = path.reduce<Json>((v, k) => (v as Record<string | number, Json>)[k], value);
    if (typeof leaf === 'string' && leaf.length > best.length) best = { path: path.join('.'), length: leaf.length };
  }
  return best.length < 0 ? null : best;
}

/** Raw bodies that are not the JSON a route expects: bytes, truncated JSON, deep or large JSON. */
export function garbageBody(valid: fc.Arbitrary<Json>): fc.Arbitrary<string | Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 4096 }),
    valid.chain((v) => {
      const text = JSON.stringify(v);
      return fc.nat(text.length).map((cut) => text.slice(0, cut));
    }),
    valid.chain((v) => {
      const text = JSON.stringify(v);
      return fc
        .tuple(fc.nat(text.length), fc.constantFrom('\u0000', '}', '"', '\\', ',', 'NaN', '\ud800'))
        .map(([at, c]) => text.slice(0, at) + c + text.slice(at));
    }),
    fc.constantFrom('', 'null', '[]', '"job"', 'true', '0', '{}', '{"a":1,"a":2}', '\ufeff{}', '{"__proto__":{"admin":true}}'),
    deepJsonText,
    fc.constantFrom(50_000, 500_000).map((n) => JSON.stringify({ items: Array.from({ length: n }, (_, i) => i) })),
    fc.string({ unit: 'binary', maxLength: 200 }),
  );
}

/** Content types a client might send, right or wrong. */
export const contentType = fc.oneof(
  { weight: 4, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      undefined,
      'application/json; charset=utf-16',
      'APPLICATION/JSON',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      'application/json, text/html',
      'application/merge-patch+json',
      '',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 }) },
);

/** A header value a fetch client can send (printable ASCII: workerd warns on, and re-encodes, anything else), sometimes long. */
export const headerValue = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }),
  fc.constantFrom(8_000, 60_000).map((n) => 'x'.repeat(n)),
);

const KINDS = new Set<string>(ErrorKind.options);

/** A fuzzed HTTP request, as both suites send it. */
export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string | undefined>;
  body?: string | Uint8Array | undefined;
}

const clip = (text: string, max = 160) => (text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text);

/** A request as a counterexample should show it: huge bodies and headers cut to their start and length. */
export function describeRequest(req: FuzzRequest): string {
  const headers = Object.entries(req.headers)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${JSON.stringify(clip(v ?? ''))}`);
  const body =
    req.body === undefined
      ? 'no body'
      : typeof req.body === 'string'
        ? JSON.stringify(clip(req.body, 300))
        : `${req.body.length} bytes [${req.body.slice(0, 16).join(',')}…]`;
  return `${req.method} ${clip(req.path)} {${headers.join(', ')}} ${body}`;
}

/** Makes fast-check print a request the way {@link describeRequest} does. */
export function printable(req: FuzzRequest): FuzzRequest {
  return Object.defineProperty(req, fc.toStringMethod, { value: () => describeRequest(req), enumerable: false });
}

/**
 * What every answer to a fuzzed request must be: below 500 (or, when `allow` says so, a
 * documented 5xx), and every error the API's JSON envelope `{kind, message}`, with one issue per
 * field when the kind is `invalid_input` (docs/api.md#errors). An answer to HEAD has no body, so
 * only its status and type are checked. Returns the problems; empty means the answer is fine.
 */
export async function envelopeProblems(
  res: Response,
  opts: { head?: boolean; allow?: (status: number, body: Record<string, unknown>) => boolean } = {},
): Promise<string[]> {
  const text = await res.text();
  if (res.status < 400) return [];
  const problems: string[] = [];
  if (!(res.headers.get('content-type') ?? '').includes('application/json'))
    problems.push(`content-type ${res.headers.get('content-type')}`);
  let body: Record<string, unknown> = {};
  if (!opts.head) {
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      problems.push('body is not JSON');
    }
  }
  if (res.status >= 500 && !opts.allow?.(res.status, body)) problems.push(`status ${res.status}`);
  if (opts.head) return problems.length ? [...problems, `answer ${res.status}`] : [];
  if (typeof body.kind !== 'string' || !KINDS.has(body.kind)) problems.push(`kind ${JSON.stringify(body.kind)}`);
  if (typeof body.message !== 'string' || body.message.length === 0) problems.push('no message');
  if (body.kind === 'invalid_input') {
    const issues = body.issues;
    const wellFormed =
      Array.isArray(issues) &&
      issues.length > 0 &&
      issues.every(
        (i: { path?: unknown; message?: unknown }) => typeof i?.path === 'string' && typeof i.message === 'string' && i.message.length > 0,
      );
    if (!wellFormed) problems.push('invalid_input without issues');
  }
  return problems.length ? [...problems, `answer ${res.status} ${clip(text, 300)}`] : [];
}
