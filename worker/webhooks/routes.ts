import { createRoute, z } from '@hono/zod-openapi';
import { jobNotFoundError } from '../../schemas/errors.ts';
import { Delivery } from '../../schemas/webhook.ts';
import { createRouter } from '../http/app.ts';
import { invalidField } from '../http/errors.ts';
import { errorResponses, json } from '../http/openapi.ts';
import { JobIdParam } from '../jobs/schemas.ts';
import { jobStub } from '../stubs.ts';

const listDeliveries = createRoute({
  method: 'get',
  path: '/jobs/{id}/deliveries',
  summary: "Every attempt to deliver the job's webhook",
  request: { params: JobIdParam },
  responses: { 200: json(z.array(Delivery), 'Attempts, oldest first.'), ...errorResponses },
});

const redeliver = createRoute({
  method: 'post',
  path: '/jobs/{id}/deliveries/redeliver',
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
