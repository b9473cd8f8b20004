import { z } from 'zod';

/** The queue message: which job, whose, and which generation (stale generations are skipped). */
export const QueueMessage = z.object({
  job_id: z.string().startsWith('job_'),
  tenant: z.string(),
  seq: z.number().int().min(1),
  /** Times this message found its tenant's run slots all taken; sets the delay of the next look. */
  slot_waits: z.number().int().min(0).optional(),
});
export type QueueMessage = z.infer<typeof QueueMessage>;
