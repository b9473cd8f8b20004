import { createRoute, z } from '@hono/zod-openapi';
import { Connection, ConnectionCreate } from '../../schemas/connection.ts';
import { KilnError } from '../../schemas/errors.ts';
import { ID_MAX_CHARS } from '../../schemas/job.ts';
import { readConfig } from '../config/index.ts';
import { createRouter } from '../http/app.ts';
import { errorResponses, json } from '../http/openapi.ts';
import { checkOutboundUrl } from '../net/outbound.ts';
import { tenantStub } from '../stubs.ts';
import type { ConnectionRecord } from '../tenant-object/index.ts';
import { encryptSecret, importSealingKeys } from '../utils/crypto.ts';
import { newId } from '../utils/ids.ts';

const ConnectionIdParam = z.object({
  id: z
    .string()
    .max(ID_MAX_CHARS)
    .startsWith('conn_')
    .openapi({ param: { name: 'id', in: 'path' } }),
});

function view(c: ConnectionRecord): z.infer<typeof Connection> {
  return {
    id: c.id,
    object: 'connection',
    endpoint: c.endpoint,
    region: c.region,
    access_key_id: c.access_key_id,
    is_default: c.is_default,
    created_at: c.created_at,
  };
}

export const connectionRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections',
      summary: 'Connect S3-compatible storage for s3:// inputs and outputs',
      request: { body: { content: { 'application/json': { schema: ConnectionCreate } }, required: true } },
      responses: { 201: json(Connection, 'The connection (without its secret).'), ...errorResponses },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const config = readConfig(c.env);
      checkOutboundUrl(body.endpoint, 'endpoint', { allowLoopback: config.allowLoopback });
      const tenant = tenantStub(c.env, c.get('tenant'));
      const isFirst = (await tenant.listConnections()).length === 0;
      const record: ConnectionRecord = {
        id: newId('conn'),
        endpoint: body.endpoint.replace(/\/$/, ''),
        region: body.region,
        access_key_id: body.access_key_id,
        secret_sealed: await encryptSecret(await importSealingKeys(config.connectionKeys), body.secret_access_key),
        is_default: body.is_default || isFirst,
        created_at: Date.now(),
      };
      await tenant.addConnection(record);
      return c.json(view(record), 201);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections',
      summary: 'List connections',
      responses: { 200: json(z.array(Connection), 'Connections, oldest first.'), ...errorResponses },
    }),
    async (c) => c.json((await tenantStub(c.env, c.get('tenant')).listConnections()).map(view), 200),
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/connections/{id}',
      summary: 'Delete a connection',
      request: { params: ConnectionIdParam },
      responses: { 200: json(z.object({ id: z.string(), deleted: z.literal(true) }), 'Deleted.'), ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      if (!(await tenantStub(c.env, c.get('tenant')).deleteConnection(id))) {
        throw new KilnError('not_found', `No connection ${id} exists for this API key.`);
      }
      return c.json({ id, deleted: true as const }, 200);
    },
  );
