import { describe, expect, it } from 'vitest';
import { ProcessorTask } from '../../schemas/processor.ts';

const TASK = {
  job_id: `job_${'0'.repeat(26)}`,
  attempt: 1,
  kind: 'video',
  options: {},
  input_url: 'https://in.example/clip.mov',
  callback: { url: 'https://kiln.example/internal/jobs/x/events', token: 't'.repeat(32) },
};

describe('the processor task', () => {
  it('reads an output without a type, as older Workers send it, by the field it carries', () => {
    expect(ProcessorTask.parse({ ...TASK, output: { url: 'https://out.example/a.mp4' } }).output).toEqual({
      type: 'file',
      url: 'https://out.example/a.mp4',
    });
    expect(ProcessorTask.parse({ ...TASK, output: { files_url: 'https://kiln.example/files' } }).output).toEqual({
      type: 'folder',
      files_url: 'https://kiln.example/files',
    });
  });

  it('refuses an output that is neither a file nor a folder', () => {
    expect(ProcessorTask.safeParse({ ...TASK, output: { type: 'folder', url: 'https://out.example/a.mp4' } }).success).toBe(false);
    expect(ProcessorTask.safeParse({ ...TASK, output: {} }).success).toBe(false);
  });
});
