import { describe, expect, it } from 'vitest';
import { api, OUTPUT_INFO, processorDouble, report } from '../helpers.ts';

const processor = processorDouble();

describe('POST /tasks (Ittybit-style standalone tasks)', () => {
  it('accepts flat options and a url, and shows the task by its id until it succeeds', async () => {
    const res = await api('/tasks', {
      method: 'POST',
      json: { kind: 'video', url: 'https://tapestry-app.com/v.mov', width: 1280, format: 'mp4', metadata: { user_id: 'u1' } },
    });
    expect(res.status).toBe(201);
    const task = await res.json<Record<string, any>>();
    expect(task).toMatchObject({
      object: 'task',
      kind: 'video',
      status: 'waiting',
      input: 'https://tapestry-app.com/v.mov',
      options: { width: 1280, format: 'mp4' },
      metadata: { user_id: 'u1' },
    });
    expect(task.id).toMatch(/^task_/);
    const job = await (await api(`/jobs/${task.job_id}`)).json<{ tasks: { id: string; kind: string }[] }>();
    expect(job.tasks[2]).toMatchObject({ id: task.id, kind: 'video' });

    const [dispatched] = await processor.waitForTasks(task.job_id);
    await report(dispatched!, { type: 'succeeded', output: OUTPUT_INFO });
    const done = await (await api(`/tasks/${task.id}`)).json<Record<string, any>>();
    expect(done).toMatchObject({ id: task.id, status: 'succeeded', progress: 100, output: { object: 'file', width: 1920 } });
  });

  it('accepts options nested under options, and file_id as the input', async () => {
    const upload = await (await api('/uploads', { method: 'POST', json: { filename: 'p.png', content_type: 'image/png' } })).json<{
      file: { id: string };
    }>();
    const res = await api('/tasks', {
      method: 'POST',
      json: { kind: 'image', file_id: upload.file.id, options: { width: 320, format: 'webp' } },
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ kind: 'image', input: upload.file.id, options: { width: 320, format: 'webp' } });
  });

  it.each([
    [{ kind: 'video', url: 'https://e.com/a.mov', widht: 640 }, 'widht'],
    [{ kind: 'video', url: 'https://e.com/a.mov', width: 'wide' }, 'width'],
    [{ kind: 'video', url: 'https://e.com/a.mov', input: 'https://e.com/b.mov' }, 'url'],
    [{ kind: 'video', url: 'https://e.com/a.mov', width: 640, options: { height: 480 } }, 'width'],
    [{ kind: 'probe', url: 'https://e.com/a.mov' }, 'kind'],
    [{ kind: 'video', url: 'http://169.254.169.254/' }, 'url'],
    [{ kind: 'video' }, 'input'],
  ])('answers 400 naming the field the caller used for %j', async (body, path) => {
    const res = await api('/tasks', { method: 'POST', json: body });
    expect(res.status).toBe(400);
    const err = await res.json<{ kind: string; issues: { path: string; message: string }[] }>();
    expect(err.kind).toBe('invalid_input');
    expect(err.issues.map((i) => i.path)).toContain(path);
  });

  it("answers 404 for another tenant's task", async () => {
    const task = await (await api('/tasks', { method: 'POST', json: { kind: 'audio', url: 'https://e.com/a.mp3' } })).json<{
      id: string;
    }>();
    expect((await api(`/tasks/${task.id}`)).status).toBe(200);
    expect((await api(`/tasks/${task.id}`, { key: 'other_tenant_key' })).status).toBe(404);
  });
});
