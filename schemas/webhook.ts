import { z } from 'zod';

/** One attempt to deliver a job's webhook, as GET /jobs/{id}/deliveries lists it. */
export const Delivery = z
  .object({
    id: z.string(),
    object: z.literal('delivery'),
    event_id: z.string().describe('The webhook-id header; stable across retries and redeliveries.'),
    trigger: z.enum(['automatic', 'redeliver']),
    attempt: z.number().int(),
    status: z.number().int().nullable().describe('HTTP status the receiver answered, or null if unreachable.'),
    error: z.string().nullable(),
    duration_ms: z.number().int(),
    created_at: z.number().int(),
    next_attempt_at: z.number().int().nullable(),
  })
  .meta({ id: 'Delivery' });
export type Delivery = z.infer<typeof Delivery>;
