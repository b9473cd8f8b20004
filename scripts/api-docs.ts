/**
 * Writes the parts of docs/api.md that the code already states: the job request's fields, each
 * kind's options (from the zod schemas), the error kinds with their HTTP statuses (from the one
 * status table) and the CLI's help text. Each part sits between `<!-- generated:name -->` and
 * `<!-- /generated:name -->`; the prose around it is written by hand. `npm run docs` rewrites the
 * file, and test/scripts/api-docs.test.ts fails while it is stale.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { USAGE } from '../cli/args.ts';
import { CliErrorKind } from '../schemas/errors.ts';
import { JobBatchCreate, JobBatchOutput, JobCreate } from '../schemas/job.ts';
import { type JsonSchema, objectSchema } from '../schemas/json-schema.ts';
import { type JobKind, OptionsByKind } from '../schemas/options.ts';
import { STATUS_BY_KIND } from '../worker/http/errors.ts';

export const API_DOC_PATH = resolve(import.meta.dirname, '..', 'docs', 'api.md');

/** Where each error kind shows up, and what it means to the caller. Typed by kind, so a new kind cannot go undocumented. */
const ERROR_KINDS: Record<CliErrorKind, { on: 'request' | 'job' | 'both' | 'cli'; meaning: string }> = {
  invalid_input: { on: 'both', meaning: "The request or the job's options are invalid; a request's `issues` names each field." },
  unauthorized: { on: 'request', meaning: 'The API key is missing or unknown.' },
  job_not_found: { on: 'request', meaning: "No such job for this API key (another tenant's job looks the same)." },
  task_not_found: { on: 'request', meaning: "No such standalone task for this API key (another tenant's task looks the same)." },
  not_found: { on: 'request', meaning: 'No such route, upload, connection or file.' },
  idempotency_key_reused: { on: 'request', meaning: 'The `Idempotency-Key` was used in the last 24 h with a different body.' },
  connection_name_taken: { on: 'request', meaning: 'Another connection of this API key has that `name`; pick another or rename that one.' },
  payload_too_large: { on: 'request', meaning: 'The body is over the limit; send large files through `POST /uploads`.' },
  unsupported_media_type: {
    on: 'request',
    meaning: "The body is not `application/json`, or an upload's `Content-Type` is not the type it was declared with.",
  },
  rate_limited: {
    on: 'request',
    meaning: "Over the tenant's rate for creating jobs and tasks, or for uploads; retry after `Retry-After` seconds.",
  },
  internal_error: {
    on: 'both',
    meaning:
      "Something failed on Kiln's side; retry the request. On a job: it could not be prepared, or its `POST /jobs/batch` could not be stored whole, so none of it ran.",
  },
  input_unreachable: { on: 'job', meaning: 'The input could not be fetched: an HTTP error, a refused address or a missing object.' },
  input_not_media: { on: 'job', meaning: 'The input is not a video, audio or image Kiln can decode, or it is truncated.' },
  input_too_large: { on: 'job', meaning: "The input is over the processor's byte limit." },
  input_too_long: { on: 'job', meaning: "The input is over the processor's duration limit." },
  no_video_stream: { on: 'job', meaning: 'The job needs pictures and the input has none.' },
  no_audio_stream: { on: 'job', meaning: 'The job needs sound and the input has none.' },
  too_many_pixels: { on: 'job', meaning: 'A frame or image is over the pixel limit (checked from the header, before decoding).' },
  timeout: { on: 'job', meaning: 'Processing ran past the time limit, or the processor fell silent three times.' },
  cancelled: { on: 'job', meaning: 'The job was cancelled.' },
  output_write_failed: { on: 'job', meaning: 'The output could not be written to its destination.' },
  processing_failed: { on: 'job', meaning: 'The encoder failed on this input; the message quotes its last line.' },
  processor_busy: { on: 'both', meaning: 'No processor could take the job after repeated attempts; submit it again.' },
  processor_unavailable: { on: 'both', meaning: 'The processor is misconfigured or unreachable; the message names the problem.' },
  api_unreachable: {
    on: 'cli',
    meaning: 'The CLI got no answer from the API URL it was given; the message names the URL and what to check.',
  },
};

const number = (n: number) => n.toLocaleString('en-US');

function range(min: number | undefined, max: number | undefined, unit = ''): string {
  if (min !== undefined && max !== undefined) return `${number(min)}–${number(max)}${unit}`;
  if (min !== undefined) return `≥ ${number(min)}${unit}`;
  if (max !== undefined) return `≤ ${number(max)}${unit}`;
  return '';
}

/** One line saying what a field accepts. */
function accepts(s: JsonSchema): string {
  if (s.anyOf) return s.anyOf.map(accepts).join(', or ');
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(' · ');
  switch (s.type) {
    case 'integer':
    case 'number':
      return [s.type, range(s.minimum, s.maximum)].filter(Boolean).join(' ');
    case 'boolean':
      return 'boolean';
    case 'array': {
      const items = s.items?.$ref ? 'objects' : s.items ? accepts(s.items) : 'any';
      const length = range(s.minItems, s.maxItems);
      return [`array of ${items}`, length ? `(${length} items)` : ''].filter(Boolean).join(' ');
    }
    case 'object':
      if (s.propertyNames?.pattern && typeof s.additionalProperties === 'object') {
        return `object: keys matching \`${s.propertyNames.pattern}\`, values ${accepts(s.additionalProperties)}`;
      }
      return 'object';
    case 'string': {
      const length = range(s.minLength, s.maxLength, ' chars');
      if (s.format === 'uri') return ['URL', length ? `(${length})` : ''].filter(Boolean).join(' ');
      const parts = ['string', s.pattern ? `matching \`${s.pattern}\`` : '', length ? `(${length})` : ''];
      return parts.filter(Boolean).join(' ');
    }
    default:
      return 'any';
  }
}

/** A Markdown table of an object schema's fields: name, required, what it accepts, notes. */
function fieldTable(schema: z.ZodType): string {
  const object = objectSchema(schema);
  const required = new Set(object.required ?? []);
  const rows = Object.entries(object.properties ?? {}).map(
    ([name, field]) =>
      `| \`${name}\` | ${required.has(name) ? 'yes' : ''} | ${accepts(field).replaceAll('|', '\\|')} | ${field.description ?? ''} |`,
  );
  return ['| field | required | accepts | notes |', '|---|---|---|---|', ...rows].join('\n');
}

function errorTable(): string {
  const rows = CliErrorKind.options.map((kind) => {
    const { on, meaning } = ERROR_KINDS[kind];
    const status = kind === 'api_unreachable' || on === 'job' ? '—' : String(STATUS_BY_KIND[kind] ?? 500);
    const where = { request: 'response', job: 'job', both: 'response, job', cli: 'CLI' }[on];
    return `| \`${kind}\` | ${status} | ${where} | ${meaning} |`;
  });
  return ['| kind | HTTP status | appears in | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

/** Every generated section by its marker name. */
export function generatedSections(): Record<string, string> {
  const sections: Record<string, string> = {
    'job-create': fieldTable(JobCreate),
    'error-kinds': errorTable(),
    'cli-usage': ['```text', USAGE.trimEnd(), '```'].join('\n'),
  };
  for (const kind of Object.keys(OptionsByKind) as JobKind[]) sections[`options-${kind}`] = fieldTable(OptionsByKind[kind]);
  sections['job-batch-create'] = fieldTable(JobBatchCreate);
  sections['job-batch-output'] = fieldTable(JobBatchOutput);
  return sections;
}

/**
 * `doc` with every generated section replaced by its current text. Throws when a marker in the
 * document names no section, or a section has no marker, so neither side can drift silently.
 *
 * @example
 * renderApiDoc('<!-- generated:error-kinds -->\nold\n<!-- /generated:error-kinds -->') // the table, between the same markers
 */
export function renderApiDoc(doc: string): string {
  const sections = generatedSections();
  const seen = new Set<string>();
  const rendered = doc.replace(/<!-- generated:([a-z_-]+) -->\n[\s\S]*?<!-- \/generated:\1 -->/g, (_match, name: string) => {
    const text = sections[name];
    if (text === undefined) throw new Error(`docs/api.md has a marker for an unknown section: ${name}`);
    seen.add(name);
    return `<!-- generated:${name} -->\n${text}\n<!-- /generated:${name} -->`;
  });
  const unplaced = Object.keys(sections).filter((name) => !seen.has(name));
  if (unplaced.length > 0) throw new Error(`docs/api.md lacks markers for: ${unplaced.join(', ')}`);
  return rendered;
}

if (import.meta.main) {
  const doc = await readFile(API_DOC_PATH, 'utf8');
  await writeFile(API_DOC_PATH, renderApiDoc(doc));
  console.log(`updated ${API_DOC_PATH}`);
}
