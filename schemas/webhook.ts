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

/** The calling tenant's webhook signing secret, as GET /webhooks/secret and its rotation return it. */
export const WebhookSecret = z
  .object({
    object: z.literal('webhook_secret'),
    secret: z.string().describe('The `whsec_…` secret that signs your webhooks; verify them with the `standardwebhooks` package.'),
    previous_expires_at: z
      .number()
      .int()
      .nullable()
      .describe('After a rotation: when the previous secret stops signing (ms since the epoch); until then both sign. Else null.'),
  })
  .meta({ id: 'WebhookSecret' });
export type WebhookSecret = z.infer<typeof WebhookSecret>;
