import { MAX_GROUP_TASKS } from '../../schemas/processor.ts';
import { COALESCE_WINDOW_MS } from '../constants.ts';

/**
 * A window older than this has lost its leader (the Worker that opened it ended before closing
 * it): the next job on its input opens a new one. Its members are still started, by their queue
 * messages, which their leader never made stale.
 */
const ABANDONED_WINDOW_MS = 4 * COALESCE_WINDOW_MS;

/** What a job that joins a window does: wait it out and start the group, leave its start to the leader, or start alone. */
export type WindowRole = 'lead' | 'joined' | 'alone';

/**
 * The tenant's open dispatch windows, one per input (coalesceKey): jobs created on one input
 * within COALESCE_WINDOW_MS of the first start as one processor run (worker/dispatch/start.ts
 * dispatchNow). In memory only: a window is a few hundred milliseconds of an optimisation, and
 * losing one (the object restarted) leaves its jobs to their queue messages.
 */
export class DispatchWindows {
  private readonly open = new Map<string, { openedAt: number; members: string[] }>();

  /** `mayLead`: whether this job may open a window and wait for siblings (an image job may not). */
  join(key: string, jobId: string, mayLead: boolean, now: number): WindowRole {
    const window = this.open.get(key);
    if (window && now - window.openedAt < ABANDONED_WINDOW_MS) {
      if (window.members.length >= MAX_GROUP_TASKS) return 'alone';
      window.members.push(jobId);
      return 'joined';
    }
    if (!mayLead) return 'alone';
    this.open.set(key, { openedAt: now, members: [jobId] });
    return 'lead';
  }

  /** The leader's jobs, its own first; a window it no longer holds (replaced as abandoned) gives it only itself. */
  close(key: string, leaderId: string): string[] {
    const window = this.open.get(key);
    if (!window || window.members[0] !== leaderId) return [leaderId];
    this.open.delete(key);
    return window.members;
  }
}
