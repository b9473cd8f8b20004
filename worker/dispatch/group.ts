import { MAX_GROUP_TASKS, type ProcessorTask } from '../../schemas/processor.ts';
import type { JobState } from '../job-object/state.ts';

/** Video options that cut the stretch encoded: such an output cannot hang off the shared decode. */
const TRIMS = ['start', 'end', 'duration', 'frames'];

/**
 * Whether a job's output comes off the one decode a coalesced run shares: a still image, a frame
 * of a video, or a whole video. Anything else (HLS, audio, animation, a trimmed video, a
 * standalone probe, import or export) would only share the download, while queueing behind its
 * siblings in one processor slot under one time limit: it runs on its own.
 */
function sharesDecode(state: JobState): boolean {
  const { kind } = state.job;
  if (kind === 'image') return true;
  if (kind !== 'video') return false;
  const options: Record<string, unknown> = state.job.options ?? {};
  return !TRIMS.some((option) => options[option] !== undefined);
}

/**
 * What makes jobs one coalesced run: the same tenant reading the same object (one upload or R2
 * key, one object behind one connection, or one input URL). Null for a job that runs on its own
 * (see sharesDecode).
 *
 * @example coalesceKey(state) // 'dev kiln uploads/file_01…/clip.mp4'
 */
export function coalesceKey(state: JobState): string | null {
  if (!sharesDecode(state)) return null;
  const { source } = state;
  const object =
    source.type === 'url'
      ? `url ${source.url}`
      : source.type === 'kiln'
        ? `kiln ${source.key}`
        : `s3 ${source.connection_id} ${source.bucket}/${source.key}`;
  return `${state.tenant} ${object}`;
}

/**
 * Splits runs ready to dispatch into what goes to the processor together: runs of one
 * {@link coalesceKey} in groups of at most MAX_GROUP_TASKS, every other run alone. Order is kept
 * within a group, so the first job submitted leads its group.
 */
export function groupRuns<R extends { state: JobState; task: ProcessorTask }>(runs: R[]): R[][] {
  const groups: R[][] = [];
  const open = new Map<string, R[]>();
  for (const run of runs) {
    const key = coalesceKey(run.state);
    const group = key === null ? undefined : open.get(key);
    if (group && group.length < MAX_GROUP_TASKS) {
      group.push(run);
      continue;
    }
    const fresh = [run];
    groups.push(fresh);
    if (key !== null) open.set(key, fresh);
  }
  return groups;
}
