import { describe, expect, it } from 'vitest';
import { ErrorKind } from '../../../schemas/errors.ts';
import { DASHBOARD_PATHS } from '../../../worker/dashboard/routes.ts';
import { createApp } from '../../../worker/http/routes.ts';
import { api, BASE } from '../helpers.ts';

type Operation = {
  operationId?: string;
  tags?: string[];
  security?: unknown[];
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
};
type Document = {
  servers: { url: string }[];
  tags: { name: string; description: string }[];
  paths: Record<string, Record<string, Operation>>;
};

/**
 * Routes Kiln serves that the document leaves out on purpose. Each needs its reason: anything
 * else a router answers must be described, so a route added without a schema fails below.
 */
const UNDOCUMENTED = {
  'POST /internal/jobs/{id}/events': "The processor's progress callback, authenticated by a per-run token, not an API key.",
  'POST /internal/jobs/{id}/outputs': "The processor's output callback, authenticated by a per-run token, not an API key.",
  'POST /internal/jobs/{id}/urls': "The processor's presigned-URL callback, authenticated by a per-run token, not an API key.",
  ...Object.fromEntries(
    // servedRoutes leaves wildcards out, so only the plain paths are named here.
    DASHBOARD_PATHS.filter((path) => !path.includes('*')).flatMap((path) =>
      ['GET', 'HEAD'].map((method) => [
        `${method} ${path}`,
        'A page for a person (the dashboard, the API reference), served from the static assets: HTML, not an API operation.',
      ]),
    ),
  ),
};

/** `/files/:prefix{outputs|uploads}/:rest{.+}` → `/files/{prefix}/{rest}`. */
function openApiPath(honoPath: string): string {
  return honoPath.replace(/:(\w+)(\{[^/]*?\}(?=\/|$)|\{.+\}$)?/g, '{$1}');
}

/** Every method and path a handler answers, from the Hono router (middleware and wildcards aside). */
function servedRoutes(): string[] {
  const routes = createApp().routes.filter((r) => r.method !== 'ALL' && !r.path.includes('*'));
  return [...new Set(routes.map((r) => `${r.method} ${openApiPath(r.path)}`))].sort();
}

async function servedDocument(): Promise<Document> {
  return (await api('/openapi.json', { key: null })).json<Document>();
}

describe('GET /openapi.json', () => {
  it('documents every public route from the zod schemas, as OpenAPI 3.1', async () => {
    const res = await api('/openapi.json', { key: null });
    expect(res.status).toBe(200);
    const doc = await res.json<{
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, any> };
    }>();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/connections',
      '/connections/{id}',
      '/files/{id}',
      '/files/{prefix}/{rest}',
      '/health',
      '/jobs',
      '/jobs/batch',
      '/jobs/{id}',
      '/jobs/{id}/cancel',
      '/jobs/{id}/deliveries',
      '/jobs/{id}/deliveries/redeliver',
      '/jobs/{id}/events',
      '/openapi.json',
      '/tasks',
      '/tasks/{id}',
      '/uploads',
      '/webhooks/secret',
      '/webhooks/secret/rotate',
    ]);
    expect(Object.keys(doc.paths['/jobs']!).sort()).toEqual(['get', 'post']);
    expect(doc.components.schemas.JobBatchCreate.properties.outputs).toMatchObject({ minItems: 2, maxItems: 8 });
    expect(doc.components.schemas.Job.properties.status.enum).toEqual(['queued', 'processing', 'succeeded', 'failed', 'cancelled']);
    // The API's error kinds only: the CLI's own (api_unreachable) is never an answer of the API.
    expect(doc.components.schemas.Error.properties.kind.enum).toEqual(ErrorKind.options);
    expect(doc.components.schemas.Error.properties.kind.enum).not.toContain('api_unreachable');
    expect(Object.keys(doc.paths['/connections/{id}']!).sort()).toEqual(['delete', 'get', 'patch']);
    expect(doc.components.schemas.Connection.properties.object).toMatchObject({ enum: ['storage_connection'] });
    expect(Object.keys(doc.components.schemas.ConnectionUpdate.properties).sort()).toEqual([
      'access_key_id',
      'endpoint',
      'is_default',
      'kind',
      'name',
      'region',
      'secret_access_key',
    ]);
    expect(doc.components.schemas.ConnectionCreate.required.sort()).toEqual(['access_key_id', 'endpoint', 'secret_access_key']);
  });

  it('describes every route the Worker serves, apart from the internal callbacks', async () => {
    const doc = await servedDocument();
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(servedRoutes().filter((route) => !(route in UNDOCUMENTED))).toEqual(documented.sort());
    expect(servedRoutes()).toEqual(expect.arrayContaining(Object.keys(UNDOCUMENTED)));
  });

  it('names every operation the way an SDK method reads, tags it, and sends generated clients to this origin', async () => {
    const doc = await servedDocument();
    const operations = Object.values(doc.paths).flatMap((ops) => Object.values(ops));
    const ids = operations.map((op) => op.operationId ?? '');
    expect(ids.filter((id) => !/^[a-z][a-zA-Z]+$/.test(id))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(doc.paths['/jobs']!.post!.operationId).toBe('createJob');
    expect(doc.paths['/jobs/{id}']!.get!.operationId).toBe('getJob');
    expect(doc.paths['/uploads']!.post!.operationId).toBe('createUpload');
    const tags = new Set(doc.tags.filter((t) => t.description).map((t) => t.name));
    expect(operations.filter((op) => op.tags?.length !== 1 || !tags.has(op.tags[0]!)).map((op) => op.operationId)).toEqual([]);
    expect(doc.servers).toEqual([{ url: BASE, description: expect.any(String) }]);
  });

  it('documents the {kind, message} answers of every operation behind a key', async () => {
    const doc = await servedDocument();
    const errorSchema = (op: Operation, status: string) => op.responses[status]?.content?.['application/json']?.schema.$ref;
    const keyed = Object.values(doc.paths)
      .flatMap((ops) => Object.values(ops))
      .filter((op) => op.security === undefined);
    expect(keyed.length).toBeGreaterThan(15);
    for (const op of keyed) {
      expect({ op: op.operationId, 400: errorSchema(op, '400'), 401: errorSchema(op, '401'), 404: errorSchema(op, '404') }).toEqual({
        op: op.operationId,
        400: '#/components/schemas/ValidationError',
        401: '#/components/schemas/Error',
        404: '#/components/schemas/Error',
      });
    }
    const open = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => op.security !== undefined)
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    expect(open.sort()).toEqual(['GET /files/{prefix}/{rest}', 'GET /health', 'GET /openapi.json', 'HEAD /files/{prefix}/{rest}']);
  });

  it('answers unknown routes with a JSON not_found', async () => {
    const res = await api('/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ kind: 'not_found' });
  });

  it('reports the processor in /health without a key, as one line of JSON', async () => {
    const res = await api('/health', { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const text = await res.text();
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.parse(text)).toMatchObject({ status: 'ok', worker: { status: 'ok' }, processor: { status: 'ok', via: 'url' } });
  });
});
