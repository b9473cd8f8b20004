import { describe, expect, it } from 'vitest';
import type { ProcessorTask } from '../../../schemas/processor.ts';
import { coalesceKey, groupRuns } from '../../../worker/dispatch/group.ts';
import type { InputSource, JobState } from '../../../worker/job-object/state.ts';

/** The parts of a job's state that decide its group. */
function state(tenant: string, kind: string, source: InputSource, options: Record<string, unknown> = {}): JobState {
  return { tenant, source, job: { kind, options } } as unknown as JobState;
}

const UPLOAD: InputSource = { type: 'kiln', key: 'uploads/file_1/clip.mov' };
const OBJECT: InputSource = { type: 's3', connection_id: 'conn_a', bucket: 'media', key: 'clip.mov' };

function run(id: string, s: JobState) {
  return { id, state: s, task: {} as ProcessorTask };
}

describe('which runs share a processor run', () => {
  it('groups a tenant’s encodes of one object, and nothing across tenants, connections, objects or standalone steps', () => {
    const key = coalesceKey(state('dev', 'video', UPLOAD));
    expect(coalesceKey(state('dev', 'image', UPLOAD))).toBe(key);
    expect(coalesceKey(state('other', 'video', UPLOAD))).not.toBe(key);
    expect(coalesceKey(state('dev', 'video', { ...UPLOAD, key: 'uploads/file_2/clip.mov' }))).not.toBe(key);
    expect(coalesceKey(state('dev', 'video', OBJECT))).not.toBe(coalesceKey(state('dev', 'video', { ...OBJECT, connection_id: 'conn_b' })));
    expect(coalesceKey(state('dev', 'video', { type: 'url', url: 'https://a.example/clip.mov' }))).not.toBe(
      coalesceKey(state('dev', 'video', { type: 'url', url: 'https://a.example/clip.mov?v=2' })),
    );
    for (const step of ['probe', 'import', 'export']) expect(coalesceKey(state('dev', step, UPLOAD))).toBeNull();
  });

  it('leaves alone what cannot come off the shared decode: HLS, audio, animation and trimmed video', () => {
    expect(coalesceKey(state('dev', 'image', UPLOAD, { start: 2 }))).not.toBeNull();
    for (const kind of ['adaptive_video', 'audio', 'animation']) expect(coalesceKey(state('dev', kind, UPLOAD))).toBeNull();
    for (const trim of [{ start: 1 }, { end: 3 }, { duration: 2 }, { frames: 10 }])
      expect(coalesceKey(state('dev', 'video', UPLOAD, trim))).toBeNull();
  });

  it('splits more than eight runs on one input into groups of at most eight, in order, and leaves the rest alone', () => {
    const runs = Array.from({ length: 10 }, (_, i) => run(`r${i}`, state('dev', 'video', UPLOAD)));
    const probe = run('probe', state('dev', 'probe', UPLOAD));
    const groups = groupRuns([...runs.slice(0, 5), probe, ...runs.slice(5)]);
    expect(groups.map((g) => g.map((r) => r.id))).toEqual([['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7'], ['probe'], ['r8', 'r9']]);
  });
});
