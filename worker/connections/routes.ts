import { createRoute, z } from '@hono/zod-openapi';
import { Connection, ConnectionCreate, ConnectionUpdate } from '../../schemas/connection.ts';
import { ErrorBody, KilnError } from '../../schemas/errors.ts';
import { ID_MAX_CHARS } from '../../schemas/job.ts';
import { readConfig } from '../config/index.ts';
import { createRouter } from '../http/app.ts';
import { errorResponses, json, listJson } from '../http/openapi.ts';
import { ignoreUnknownQueryParams } from '../http/query.ts';
import { checkOutboundUrl } from '../net/outbound.ts';
import { tenantStub } from '../stubs.ts';
import type { ConnectionChanges, ConnectionRecord, ConnectionWrite } from '../tenant-object/connections.ts';
import { encryptSecret, importSealingKeys } from '../utils/crypto.ts';
import { newId } from '../utils/ids.ts';

/** Any id is looked up, whatever its prefix: one Kiln did not issue (Ittybit's `con_…`) is as missing as any other. */
const ConnectionIdParam = z.object({
  id: z
    .string()
    .max(ID_MAX_CHARS)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'conn_01jd…' }),
});

/**
 * The answer for a connection id the tenant does not have, the same for another tenant's.
 *
 * @example throw connectionNotFoundError('conn_01jd…')
 */
export function connectionNotFoundError(id: string): KilnError {
  return new KilnError('not_found', `No connection ${id} exists for this API key.`);
}

function view(c: ConnectionRecord): Connection {
  return {
    id: c.id,
    object: 'storage_connection',
    kind: c.kind,
    name: c.name,
    endpoint: c.endpoint,
    region: c.region,
    access_key_id: c.access_key_id,
    is_default: c.is_default,
    created_at: c.created_at,
    updated_at: c.updated_at,
  };
}

/** The endpoint as stored: checked against the outbound policy, without a trailing slash. */
function endpointOf(raw: string, env: Env): string {
  checkOutboundUrl(raw, 'endpoint', { allowLoopback: readConfig(env).allowLoopback });
  return raw.replace(/\/$/, '');
}

async function seal(env: Env, secret: string): Promise<string> {
  return encryptSecret(await importSealingKeys(readConfig(env).connectionKeys), secret);
}

/** The stored connection, or the API's answer for why it was not written. */
function written(id: string, name: string | undefined, result: ConnectionWrite<ConnectionRecord>): Connection {
  if (result.ok) return view(result.value);
  if (result.reason === 'not_found') throw connectionNotFoundError(id);
  throw new KilnError(
    'connection_name_taken',
    `Another connection of this API key is named ${JSON.stringify(name)}; choose another name, or rename that connection with PATCH /connections/{id}.`,
  );
}

const conflict = { 409: json(ErrorBody, 'Another connection of this API key has that name (`connection_name_taken`).') };

export const connectionRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections',
      operationId: 'createConnection',
      tags: ['Connections'],
      summary: 'Connect S3-compatible storage for s3:// inputs and outputs',
      request: { body: { content: { 'application/json': { schema: ConnectionCreate } }, required: true } },
      responses: { 201: json(Connection, 'The connection (without its secret).'), ...conflict, ...errorResponses },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const endpoint = endpointOf(body.endpoint, c.env);
      const tenant = tenantStub(c.env, c.get('tenant'));
      const isFirst = (await tenant.listConnections()).length === 0;
      const id = newId('conn');
      const now = Date.now();
      const result = await tenant.addConnection({
        id,
        kind: body.kind,
        name: body.name ?? id,
        endpoint,
        region: body.region,
        access_key_id: body.access_key_id,
        secret_sealed: await seal(c.env, body.secret_access_key),
        is_default: body.is_default || isFirst,
        created_at: now,
        updated_at: now,
      });
      return c.json(written(id, body.name, result), 201);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections',
      operationId: 'listConnections',
      tags: ['Connections'],
      summary: 'List connections',
      middleware: [ignoreUnknownQueryParams({ paging: 'none' })],
      responses: { 200: listJson(Connection, 'Connections, oldest first.'), ...errorResponses },
    }),
    async (c) => c.json((await tenantStub(c.env, c.get('tenant')).listConnections()).map(view), 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections/{id}',
      operationId: 'getConnection',
      tags: ['Connections'],
      summary: 'Retrieve a connection',
      request: { params: ConnectionIdParam },
      responses: { 200: json(Connection, 'The connection (without its secret).'), ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const connection = await tenantStub(c.env, c.get('tenant')).getConnection(id);
      if (!connection) throw connectionNotFoundError(id);
      return c.json(view(connection), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/connections/{id}',
      operationId: 'updateConnection',
      tags: ['Connections'],
      summary: 'Rename a connection, rotate its credentials, move its endpoint, or make it the default',
      request: {
        params: ConnectionIdParam,
        body: { content: { 'application/json': { schema: ConnectionUpdate } }, required: true },
      },
      responses: { 200: json(Connection, 'The connection as changed.'), ...conflict, ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const changes: ConnectionChanges = {};
      if (body.name !== undefined) changes.name = body.name;
      if (body.endpoint !== undefined) changes.endpoint = endpointOf(body.endpoint, c.env);
      if (body.region !== undefined) changes.region = body.region;
      if (body.is_default !== undefined) changes.is_default = body.is_default;
      if (body.access_key_id !== undefined && body.secret_access_key !== undefined) {
        changes.credentials = { access_key_id: body.access_key_id, secret_sealed: await seal(c.env, body.secret_access_key) };
      }
      const result = await tenantStub(c.env, c.get('tenant')).updateConnection(id, changes);
      return c.json(written(id, body.name, result), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/connections/{id}',
      operationId: 'deleteConnection',
      tags: ['Connections'],
      summary: 'Delete a connection',
      request: { params: ConnectionIdParam },
      responses: { 200: json(z.object({ id: z.string(), deleted: z.literal(true) }), 'Deleted.'), ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      if (!(await tenantStub(c.env, c.get('tenant')).deleteConnection(id))) throw connectionNotFoundError(id);
      return c.json({ id, deleted: true as const }, 200);
    },
  );
