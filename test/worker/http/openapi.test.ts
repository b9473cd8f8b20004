import { describe, expect, it } from 'vitest';
import { api } from '../helpers.ts';

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
      '/jobs',
      '/jobs/batch',
      '/jobs/{id}',
      '/jobs/{id}/cancel',
      '/jobs/{id}/deliveries',
      '/jobs/{id}/deliveries/redeliver',
      '/jobs/{id}/events',
      '/tasks',
      '/tasks/{id}',
      '/uploads',
      '/webhooks/secret',
      '/webhooks/secret/rotate',
    ]);
    expect(Object.keys(doc.paths['/jobs']!).sort()).toEqual(['get', 'post']);
    expect(doc.components.schemas.JobBatchCreate.properties.outputs).toMatchObject({ minItems: 2, maxItems: 8 });
    expect(doc.components.schemas.Job.properties.status.enum).toEqual(['queued', 'processing', 'succeeded', 'failed', 'cancelled']);
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

  it('answers unknown routes with a JSON not_found', async () => {
    const res = await api('/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ kind: 'not_found' });
  });

  it('reports the processor in /health without a key', async () => {
    const res = await api('/health', { key: null });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', worker: { status: 'ok' }, processor: { status: 'ok', via: 'url' } });
  });
});
