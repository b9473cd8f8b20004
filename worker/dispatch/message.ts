import { z } from 'zod';
import { MAX_GROUP_TASKS } from '../../schemas/processor.ts';

/**
 * The queue message: which job, whose, and which generation (stale generations are skipped).
 * A multi-output request (POST /jobs/batch) sends one message for all its jobs, `siblings` naming
 * the others, so however the queue splits its batches they are claimed, and run, together.
 */
export const QueueMessage = z.object({
  job_id: z.string().startsWith('job_'),
  tenant: z.string(),
  seq: z.number().int().min(1),
  /** Times this message found its tenant's run slots all taken; sets the delay of the next look. */
  slot_waits: z.number().int().min(0).optional(),
  siblings: z
    .array(z.object({ job_id: z.string().startsWith('job_'), seq: z.number().int().min(1) }))
    .max(MAX_GROUP_TASKS - 1)
    .optional(),
});
export type QueueMessage = z.infer<typeof QueueMessage>;

/** One job's part of a message: what each claim, slot wait and outcome is about. */
export type QueueEntry = Omit<QueueMessage, 'siblings'>;

/** The jobs a message is about, its own first. */
export function messageEntries(message: QueueMessage): QueueEntry[] {
  const { siblings = [], ...own } = message;
  return [own, ...siblings.map((s) => ({ job_id: s.job_id, tenant: own.tenant, seq: s.seq }))];
}
