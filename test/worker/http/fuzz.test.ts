import { env, exports } from 'cloudflare:workers';
import { fc, it } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, vi } from 'vitest';
import { ConnectionCreate, ConnectionUpdate } from '../../../schemas/connection.ts';
import { JobCreate } from '../../../schemas/job.ts';
import { JobKind, OptionsByKind } from '../../../schemas/options.ts';
import { FreshUrlsRequest, OutputFilesRequest, ProcessorEvent, type ProcessorTask } from '../../../schemas/processor.ts';
import { UploadCreate } from '../../../schemas/upload.ts';
import { ListJobsQuery } from '../../../worker/jobs/schemas.ts';
import {
  contentType,
  deepJsonText,
  describeRequest,
  envelopeProblems,
  type FuzzRequest,
  fromZod,
  fuzzRuns,
  garbageBody,
  headerValue,
  hugeString,
  longestString,
  oddString,
  perturbed,
  printable,
  withLongTails,
} from '../../support/fuzz.ts';
import { api, BASE, createJob, KEY, processorDouble } from '../helpers.ts';

/**
 * Every route of the API, and the processor's callback routes, under schema-derived and raw
 * garbage requests, with and without a key: no answer is a 5xx, none throws, every error is the
 * JSON envelope. Runs per route: FUZZ_RUNS (vitest.config.ts passes it through) or the default.
 */
const RUNS = fuzzRuns(40, env as unknown as Record<string, unknown>);
const OTHER_KEY = 'other_tenant_key';
/** A property's time limit grows with its runs: vitest's own would stop it mid-run, with requests still being sent. */
const TIMEOUT_MS = 20_000 + RUNS * 1_000;

/** Ids the Worker knows, filled in before the run: the placeholders below are swapped for them. */
/** `sampleConn` is kept out of the fuzzer's ids so that no fuzzed DELETE removes it from under {@link SAMPLES}. */
const known = { job: '', otherJob: '', task: '', file: '', conn: '', sampleConn: '', token: '' };
const KNOWN_IDS = ['$job', '$otherJob', '$task', '$file', '$conn'] as const;

/** Percent-encodes like a client would; a lone surrogate becomes the bytes of its invalid UTF-8. */
function pathSegment(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return `${encodeURIComponent(text.replace(/[\ud800-\udfff]/g, ''))}%ED%A0%80`;
  }
}

/** Cases run per target, printed at the end. */
const counts = new Map<string, number>();
const count = (target: string) => counts.set(target, (counts.get(target) ?? 0) + 1);

const segment = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...KNOWN_IDS) },
  { weight: 2, arbitrary: fc.stringMatching(/^(job|task|file|conn)_[0-9a-z]{0,30}$/) },
  { weight: 2, arbitrary: oddString.map(pathSegment) },
  { weight: 1, arbitrary: fc.constantFrom('..', '.', '%2e%2e', '%ZZ', '%', '%00', 'a%2Fb', 'job_%F0%9F', 'job_;x', 'job_?', 'job_#') },
  { weight: 1, arbitrary: fc.constantFrom(1_000, 20_000).map((n) => `job_${'a'.repeat(n)}`) },
);

const auth = fc.oneof(
  { weight: 5, arbitrary: fc.constant(`Bearer ${KEY}`) },
  { weight: 1, arbitrary: fc.constant(`Bearer ${OTHER_KEY}`) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      undefined,
      '',
      'Bearer',
      'Bearer ',
      `bearer   ${KEY}  `,
      KEY,
      `Basic ${btoa(`${KEY}:`)}`,
      `Bearer ${KEY}x`,
      `Bearer ${KEY},${KEY}`,
    ),
  },
  { weight: 1, arbitrary: headerValue.map((v) => `Bearer ${v}`) },
);

/** A query string carrying a (perturbed) value: an object's fields as parameters, anything else as `q`. */
function queryString(value: unknown): string {
  const fields = value && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value) : [['q', value]];
  return `?${new URLSearchParams(fields.map(([k, v]) => [String(k), typeof v === 'string' ? v : (JSON.stringify(v) ?? '')]))}`;
}

const query = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  {
    weight: 1,
    arbitrary: fc
      .dictionary(fc.oneof(oddString, fc.constantFrom('limit', 'metadata[a]', 'metadata[]', 'kind')), oddString, { maxKeys: 3 })
      .map(queryString),
  },
  { weight: 1, arbitrary: fc.constantFrom('?', '?&&', '?a', '?%ZZ=1', '?limit=%', '?=x', `?x=${'y'.repeat(10_000)}`) },
);

const jobBody = fc.constantFrom(...JobKind.options).chain((kind) =>
  fromZod(JobCreate, {
    kind: fc.constant(kind),
    options: fromZod(OptionsByKind[kind]),
    input: fc.oneof(fc.constantFrom('https://darkroom-app.com/uploads/clip.mov', 's3://bucket/key.mp4', '$file'), fc.webUrl()),
    webhook_url: fc.constant('https://darkroom-app.com/hooks/kiln'),
    connection_id: fc.constant('$conn'),
  }),
);

/** Ittybit's current shape: `{kind, input: {url} | File, options}`, for every task kind. */
const fileInput = fc.oneof(
  fc.record({ url: fc.constantFrom('https://darkroom-app.com/uploads/clip.mov', 's3://bucket/key.mp4', '$file') }),
  fc.constant({ object: 'file', kind: 'video', url: 'https://darkroom-app.com/uploads/clip.mp4', format: 'mp4', width: 1920 }),
);
const ittybitTask = fc.oneof(
  fc.record(
    { kind: fc.constantFrom('probe', 'import'), input: fileInput, connection_id: fc.constant('$conn') },
    { requiredKeys: ['kind', 'input'] },
  ),
  fc.record({
    kind: fc.constant('export'),
    input: fileInput,
    options: fc.record({ url: fc.constant('s3://bucket/out.mp4'), connection_id: fc.constant('$conn') }),
  }),
  jobBody.chain((job) => fileInput.map((input) => ({ ...job, input }))),
);

const taskBody = fc.oneof(
  jobBody.chain((job) =>
    fc.constantFrom('input', 'url', 'file_id').chain((alias) =>
      fc.boolean().map((flat) => {
        const { input, options, ...rest } = job;
        return { ...rest, [alias]: input, ...(flat ? (options as object) : { options }) };
      }),
    ),
  ),
  ittybitTask,
);

/** A multi-output request: the jobs' own fields as its outputs, the first job's input shared. */
const batchBody = fc.array(jobBody, { minLength: 2, maxLength: 8 }).map((jobs) => ({
  input: jobs[0]!.input,
  connection_id: '$conn',
  outputs: jobs.map(({ input: _input, connection_id: _connection, ...output }) => output),
}));

/** The body each route documents, from its zod schema; routes without one get garbage only. */
const BODIES: Record<string, fc.Arbitrary<unknown>> = {
  'POST /jobs': jobBody,
  'POST /jobs/batch': batchBody,
  'POST /tasks': taskBody,
  'POST /uploads': fromZod(UploadCreate),
  'POST /connections': fromZod(ConnectionCreate, {
    endpoint: fc.constantFrom('https://acct.r2.cloudflarestorage.com', 'http://127.0.0.1:9', 'ftp://x'),
  }),
  'PATCH /connections/{id}': fromZod(ConnectionUpdate, {
    endpoint: fc.constantFrom('https://acct.r2.cloudflarestorage.com', 'http://127.0.0.1:9', 'ftp://x'),
  }),
  'POST /internal/jobs/{id}/events': fromZod(ProcessorEvent as never).map((e) => ({ ...e, attempt: 1 })),
  'POST /internal/jobs/{id}/outputs': fromZod(OutputFilesRequest, { attempt: fc.constant(1) }),
  'POST /internal/jobs/{id}/urls': fromZod(FreshUrlsRequest, { attempt: fc.constant(1) }),
};

/** A valid body per public route with a body, each string filled in: the huge property lengthens every one of them. */
const SAMPLES: Record<string, Record<string, unknown>> = {
  'POST /jobs': {
    input: 'https://darkroom-app.com/uploads/clip.mov',
    kind: 'video',
    options: { background: '#000000', format: 'mp4' },
    output: 's3://bucket/clip.mp4',
    connection_id: '$sampleConn',
    metadata: { user_id: 'u_1' },
    webhook_url: 'https://darkroom-app.com/hooks/kiln',
  },
  'POST /jobs/batch': {
    input: 'https://darkroom-app.com/uploads/clip.mov',
    connection_id: '$sampleConn',
    outputs: [
      { kind: 'video', options: { format: 'mp4' }, output: 's3://bucket/clip.mp4', metadata: { user_id: 'u_1' } },
      { kind: 'image', options: { format: 'webp' }, webhook_url: 'https://darkroom-app.com/hooks/kiln' },
    ],
  },
  'POST /tasks': {
    kind: 'image',
    url: 'https://darkroom-app.com/a.png',
    format: 'webp',
    webhook_url: 'https://darkroom-app.com/hooks/kiln',
  },
  'POST /uploads': { filename: 'clip.mov', content_type: 'video/quicktime' },
  'POST /connections': {
    endpoint: 'https://acct.r2.cloudflarestorage.com',
    region: 'auto',
    access_key_id: 'AKIA',
    secret_access_key: 'secret',
  },
};

/** Every route in /openapi.json, and the routes it leaves out on purpose. */
const DOCUMENTED = [
  'POST /jobs',
  'POST /jobs/batch',
  'GET /jobs',
  'GET /jobs/{id}',
  'GET /jobs/{id}/events',
  'POST /jobs/{id}/cancel',
  'POST /tasks',
  'GET /tasks',
  'GET /tasks/{id}',
  'GET /jobs/{id}/deliveries',
  'POST /jobs/{id}/deliveries/redeliver',
  'POST /uploads',
  'PUT /files/{id}',
  'POST /connections',
  'GET /connections',
  'GET /connections/{id}',
  'PATCH /connections/{id}',
  'DELETE /connections/{id}',
  'GET /webhooks/secret',
  'POST /webhooks/secret/rotate',
  'GET /files/{prefix}/{rest}',
  'HEAD /files/{prefix}/{rest}',
  'GET /health',
  'GET /openapi.json',
];
const UNDOCUMENTED = ['POST /internal/jobs/{id}/events', 'POST /internal/jobs/{id}/outputs', 'POST /internal/jobs/{id}/urls'];
/** A file URL's path after /files/ is one parameter to fuzz, whatever the document splits it into. */
const FILE_KEY = '{prefix}/{rest}';

/** Swaps the placeholders for the ids known once `beforeAll` has run; requests are generated before that. */
function resolve(text: string): string {
  return text
    .replaceAll('$job', known.job)
    .replaceAll('$otherJob', known.otherJob)
    .replaceAll('$task', known.task)
    .replaceAll('$file', known.file)
    .replaceAll('$sampleConn', known.sampleConn)
    .replaceAll('$conn', known.conn);
}

/** A request to `route`: its documented body bent one way, or garbage, with odd headers and ids. */
function requests(route: string, opts: { huge?: boolean } = {}): fc.Arbitrary<FuzzRequest> {
  const [method = 'GET', template = '/'] = route.split(' ');
  const valid = BODIES[route] ?? fc.constant({});
  const bodyless = method === 'GET' || method === 'HEAD';
  const internal = template.startsWith('/internal/');
  const filesKey = fc.oneof(
    fc.constantFrom('outputs/$job/out.mp4', 'uploads/$file', 'uploads/', 'outputs/..%2F..%2Fx'),
    oddString.map((s) => `uploads/${pathSegment(s)}`),
  );
  const id = template.includes(FILE_KEY) ? filesKey : segment;
  // The token checks out only for the attempt the URL names, so most internal requests name attempt 1.
  const listQuery =
    (template === '/jobs' || template === '/tasks') && method === 'GET'
      ? fc.oneof(query, perturbed(fromZod(ListJobsQuery)).map(queryString))
      : internal
        ? fc.oneof({ weight: 3, arbitrary: fc.constant('?attempt=1') }, { weight: 1, arbitrary: query })
        : query;
  const body: fc.Arbitrary<string | Uint8Array | undefined> = bodyless
    ? fc.constant(undefined)
    : opts.huge
      ? perturbed(valid, { huge: true }).map((v) => JSON.stringify(v))
      : fc.oneof(
          { weight: 2, arbitrary: valid.map((v) => JSON.stringify(v)) },
          { weight: 4, arbitrary: perturbed(valid).map((v) => JSON.stringify(v) ?? 'null') },
          { weight: 3, arbitrary: garbageBody(valid) },
          { weight: 1, arbitrary: fc.constant(undefined) },
        );
  const token = fc.oneof(fc.constantFrom('$token', '', 'x'.repeat(64)), headerValue);
  return fc
    .record({
      id,
      query: listQuery,
      body,
      authorization: internal ? token.map((t) => (t === '$token' ? t : `Bearer ${t}`)) : auth,
      contentType,
      idempotencyKey: fc.oneof(fc.constant(undefined), headerValue, fc.constantFrom('', ' ', 'k'.repeat(256))),
      range: fc.oneof(
        fc.constant(undefined),
        fc.constantFrom('bytes=0-0', 'bytes=-1', 'bytes=5-2', 'bytes=x', 'bytes=0-0,1-1', 'items=1-2'),
      ),
      conditional: fc.oneof(
        fc.constant(undefined),
        fc.tuple(
          fc.constantFrom('if-none-match', 'if-match', 'if-modified-since', 'if-unmodified-since'),
          fc.constantFrom('*', '"x"', 'W/"', '', '"a", W/', 'yesterday', 'Tue, 99 Foo 2024'),
        ),
      ),
    })
    .map((r) =>
      printable({
        method,
        path: template.replace(FILE_KEY, r.id).replace('{id}', r.id) + r.query,
        headers: {
          authorization: r.authorization,
          'content-type': r.contentType,
          'idempotency-key': r.idempotencyKey,
          range: r.range,
          ...(r.conditional ? { [r.conditional[0]]: r.conditional[1] } : {}),
        },
        body: r.body,
      }),
    );
}

async function send(req: FuzzRequest): Promise<Response> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, value === '$token' ? `Bearer ${known.token}` : value);
  }
  const body = typeof req.body === 'string' ? resolve(req.body) : (req.body ?? null);
  return exports.default.fetch(new Request(`${BASE}${resolve(req.path)}`, { method: req.method, headers, body }));
}

/** GET /health answers 503 with its report, not an error, when the processor does not answer in time (docs/api.md). */
const healthReport = (req: FuzzRequest) => (status: number, body: Record<string, unknown>) =>
  req.method === 'GET' && req.path.split('?')[0] === '/health' && status === 503 && body.status === 'degraded';

/** Strings from this length up must be refused (issue #10: "every body and string has a limit and a 4xx"). */
const MUST_REFUSE_CHARS = 64 * 1024;

/**
 * Sends one fuzzed request and fails, naming the request and the answer, when the answer breaks
 * the contract. With `refuseHuge`, a body holding a string of {@link MUST_REFUSE_CHARS} or more
 * must also be answered with a 4xx.
 */
async function check(target: string, req: FuzzRequest, { refuseHuge = false } = {}) {
  count(target);
  const errors = vi.spyOn(console, 'error');
  try {
    const res = await send(req);
    const status = res.status;
    const problems = await envelopeProblems(res, { head: req.method === 'HEAD', allow: healthReport(req) });
    const longest = refuseHuge && typeof req.body === 'string' ? longestString(req.body) : null;
    if (longest && longest.length >= MUST_REFUSE_CHARS && status < 400) {
      problems.push(
        `accepted (${status}) a ${longest.length}-char string at ${longest.path || 'the body'}; every string needs a limit and a 4xx`,
      );
    }
    const logged = errors.mock.calls.map((args) => args.map(String).join(' '));
    if (logged.length) problems.push(`logged: ${logged.join(' | ').slice(0, 300)}`);
    if (problems.length) throw new Error(`${problems.join('; ')}\nfor ${describeRequest(req)}`);
  } finally {
    errors.mockRestore();
  }
}

beforeAll(async () => {
  known.job = (await createJob()).id;
  const other = await api('/jobs', { method: 'POST', key: OTHER_KEY, json: { input: 'https://darkroom-app.com/a.mov', kind: 'video' } });
  known.otherJob = ((await other.json()) as { id: string }).id;
  const task = await api('/tasks', { method: 'POST', json: { kind: 'image', url: 'https://darkroom-app.com/a.png' } });
  known.task = ((await task.json()) as { id: string }).id;
  const upload = await api('/uploads', { method: 'POST', json: { filename: 'a.png', content_type: 'image/png' } });
  known.file = ((await upload.json()) as { file: { id: string } }).file.id;
  const conn = await api('/connections', {
    method: 'POST',
    json: { endpoint: 'https://acct.r2.cloudflarestorage.com', access_key_id: 'AKIA', secret_access_key: 'secret' },
  });
  known.conn = ((await conn.json()) as { id: string }).id;
  const sampleConn = await api('/connections', {
    method: 'POST',
    json: { endpoint: 'https://acct.r2.cloudflarestorage.com', access_key_id: 'AKIA', secret_access_key: 'secret' },
  });
  known.sampleConn = ((await sampleConn.json()) as { id: string }).id;
  const [dispatched] = (await processorDouble().waitForTasks(known.job)) as [ProcessorTask];
  known.token = dispatched.callback.token;
});

afterAll(() => {
  console.log(
    `fuzz (worker): ${[...counts].map(([target, n]) => `${target} ${n}`).join(', ')}; total ${[...counts.values()].reduce((a, b) => a + b, 0)} cases`,
  );
});

describe('fuzzing the Worker', () => {
  it('covers every route /openapi.json documents', async () => {
    const doc = await (await api('/openapi.json', { key: null })).json<{ paths: Record<string, Record<string, unknown>> }>();
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(routes.sort()).toEqual([...DOCUMENTED].sort());
  });

  it('starts the huge-string examples from bodies the API accepts', async () => {
    for (const [route, sample] of Object.entries(SAMPLES)) {
      const res = await api(route.split(' ')[1] ?? '/', {
        method: 'POST',
        body: resolve(JSON.stringify(sample)),
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status, `${route}: ${await res.clone().text()}`).toBe(201);
    }
  });

  for (const route of [...DOCUMENTED, ...UNDOCUMENTED]) {
    it.prop([requests(route)], { numRuns: RUNS })(route, (req) => check(route, req), TIMEOUT_MS);
  }

  for (const route of Object.keys(BODIES)) {
    const sample = SAMPLES[route];
    const examples = sample
      ? withLongTails(sample, MUST_REFUSE_CHARS).map((body): [FuzzRequest] => [
          printable({
            method: 'POST',
            path: route.split(' ')[1] ?? '/',
            headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
            body: JSON.stringify(body),
          }),
        ])
      : [];
    it.prop([requests(route, { huge: true })], { numRuns: Math.max(3, Math.ceil(RUNS / 5)) + examples.length, examples })(
      `${route} with a 5 KB–2 MB string in one field (public routes: 4xx from 64 KiB up)`,
      (req) => check(`${route} (huge)`, req, { refuseHuge: !route.includes('/internal/') }),
      TIMEOUT_MS,
    );
  }

  const wrongMethod = fc
    .record({
      route: fc.constantFrom(...DOCUMENTED, ...UNDOCUMENTED),
      method: fc.constantFrom('PATCH', 'OPTIONS', 'PUT', 'DELETE', 'POST', 'GET'),
      body: fc.oneof(deepJsonText, hugeString),
    })
    .map(({ route, method, body }) =>
      printable({
        method,
        path: (route.split(' ')[1] ?? '/').replace(/\{(id|key)\}/, '$job'),
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: method === 'GET' ? undefined : body,
      }),
    );
  it.prop([wrongMethod], { numRuns: RUNS })(
    'answers every path under any method, with deep or huge bodies, with the envelope',
    (req) => check('any method', req),
    TIMEOUT_MS,
  );
});
