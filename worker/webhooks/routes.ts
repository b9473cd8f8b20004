import { createRoute, z } from '@hono/zod-openapi';
import { jobNotFoundError } from '../../schemas/errors.ts';
import { Delivery, WebhookSecret } from '../../schemas/webhook.ts';
import { readConfig } from '../config/index.ts';
import { WEBHOOK_SECRET_OVERLAP_MS } from '../constants.ts';
import { createRouter } from '../http/app.ts';
import { invalidField } from '../http/errors.ts';
import { errorResponses, json, listJson } from '../http/openapi.ts';
import { ignoreUnknownQueryParams } from '../http/query.ts';
import { JobIdParam } from '../jobs/schemas.ts';
import { jobStub, tenantStub } from '../stubs.ts';
import type { WebhookSecrets } from '../tenant-object/webhook-secrets.ts';
import { pinnedSecret } from './secrets.ts';

const listDeliveries = createRoute({
  method: 'get',
  path: '/jobs/{id}/deliveries',
  operationId: 'listJobDeliveries',
  tags: ['Webhooks'],
  summary: "Every attempt to deliver the job's webhook",
  middleware: [ignoreUnknownQueryParams({ paging: 'none' })],
  request: { params: JobIdParam },
  responses: { 200: listJson(Delivery, 'Attempts, oldest first.'), ...errorResponses },
});

const redeliver = createRoute({
  method: 'post',
  path: '/jobs/{id}/deliveries/redeliver',
  operationId: 'redeliverJobWebhook',
  tags: ['Webhooks'],
  summary: "Send the finished job's webhook again",
  request: { params: JobIdParam },
  responses: {
    202: json(z.object({ scheduled: z.literal(true) }), 'The webhook will be sent within seconds.'),
    ...errorResponses,
  },
});

export const deliveryRoutes = createRouter()
  .openapi(listDeliveries, async (c) => {
    const { id } = c.req.valid('param');
    const deliveries = await jobStub(c.env, id).deliveries(c.get('tenant'));
    if (!deliveries) throw jobNotFoundError(id);
    return c.json(deliveries, 200);
  })
  .openapi(redeliver, async (c) => {
    const { id } = c.req.valid('param');
    const result = await jobStub(c.env, id).redeliver(c.get('tenant'));
    if (!result) throw jobNotFoundError(id);
    if (!result.scheduled) throw invalidField('id', result.reason ?? 'Nothing to redeliver.');
    return c.json({ scheduled: true as const }, 202);
  });

const getSecret = createRoute({
  method: 'get',
  path: '/webhooks/secret',
  operationId: 'getWebhookSecret',
  tags: ['Webhooks'],
  summary: "Your webhook signing secret (each API key's tenant has its own)",
  responses: { 200: json(WebhookSecret, 'The current secret.'), ...errorResponses },
});

const rotateSecret = createRoute({
  method: 'post',
  path: '/webhooks/secret/rotate',
  operationId: 'rotateWebhookSecret',
  tags: ['Webhooks'],
  summary: `Replace your webhook signing secret; the old one keeps signing, next to the new one, for ${WEBHOOK_SECRET_OVERLAP_MS / 3_600_000} h`,
  responses: { 200: json(WebhookSecret, 'The new secret.'), ...errorResponses },
});

function secretView(s: WebhookSecrets): WebhookSecret {
  return { object: 'webhook_secret', secret: s.current, previous_expires_at: s.previous?.retires_at ?? null };
}

export const webhookSecretRoutes = createRouter()
  .openapi(getSecret, async (c) => {
    const tenant = c.get('tenant');
    const secrets = await tenantStub(c.env, tenant).webhookSecrets(pinnedSecret(readConfig(c.env), tenant));
    return c.json(secretView(secrets), 200);
  })
  .openapi(rotateSecret, async (c) => {
    const tenant = c.get('tenant');
    const secrets = await tenantStub(c.env, tenant).rotateWebhookSecret(pinnedSecret(readConfig(c.env), tenant));
    return c.json(secretView(secrets), 200);
  });
