import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { tenantStub } from '../../../worker/stubs.ts';
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
    [{ kind: 'transcribe', url: 'https://e.com/a.mov' }, 'kind'],
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
    const other = await api(`/tasks/${task.id}`, { key: 'other_tenant_key' });
    expect(other.status).toBe(404);
    // Ittybit's kind for a missing task; another tenant's task reads exactly like a missing one.
    expect(await other.json()).toEqual({ kind: 'task_not_found', message: `No task ${task.id} exists for this API key.` });
  });
});

type Task = Record<string, any> & { id: string };

async function createTask(json: Record<string, unknown>): Promise<Task> {
  const res = await api('/tasks', { method: 'POST', json });
  if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${await res.text()}`);
  return res.json<Task>();
}

/** The job a standalone task runs as, which the API does not name for probe, import and export tasks. */
async function jobOf(task: Task): Promise<string> {
  const jobId = await tenantStub(env, 'dev').jobOfTask(task.id);
  if (!jobId) throw new Error(`task ${task.id} is not indexed`);
  return jobId;
}

async function connection(): Promise<string> {
  const res = await api('/connections', {
    method: 'POST',
    json: { endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', access_key_id: 'AKIAEXAMPLE', secret_access_key: 's3cret' },
  });
  return (await res.json<{ id: string }>()).id;
}

const PROBED = { object: 'file', kind: 'video', url: 'https://tapestry-app.com/v.mov', format: 'mp4', width: 1920, height: 1080 };

describe("POST /tasks in Ittybit's current shape {kind, input, options}", () => {
  it('probes {url}: a waiting task, a probe run that writes nothing, and the input as a File', async () => {
    const task = await createTask({ kind: 'probe', input: { url: 'https://tapestry-app.com/v.mov' } });
    expect(task).toMatchObject({
      object: 'task',
      kind: 'probe',
      status: 'waiting',
      input: { object: 'external_file', url: 'https://tapestry-app.com/v.mov' },
      options: {},
      output: null,
      job_id: null,
    });
    const jobId = await jobOf(task);
    const [run] = await processor.waitForTasks(jobId);
    expect(run).toMatchObject({ kind: 'probe', options: {}, input_url: 'https://tapestry-app.com/v.mov', output: { type: 'none' } });
    await report(run!, { type: 'succeeded', output: OUTPUT_INFO });
    const done = await (await api(`/tasks/${task.id}`)).json<Task>();
    expect(done).toMatchObject({
      status: 'succeeded',
      output: { ...OUTPUT_INFO, object: 'file', url: 'https://tapestry-app.com/v.mov' },
    });
    expect(done.output.id).toMatch(/^file_/);
    // A probe is a task, not a job: GET /jobs neither lists nor shows it.
    expect((await api(`/jobs/${jobId}`)).status).toBe(404);
    const jobs = await (await api('/jobs?limit=100')).json<{ id: string }[]>();
    expect(jobs.map((j) => j.id)).not.toContain(jobId);
  });

  it('encodes the File a probe returned, reading its url', async () => {
    const task = await createTask({ kind: 'video', input: PROBED, options: { width: 1280, format: 'mp4' } });
    expect(task).toMatchObject({ kind: 'video', status: 'waiting', input: PROBED, options: { width: 1280, format: 'mp4' } });
    expect(task.job_id).toMatch(/^job_/);
    const [run] = await processor.waitForTasks(task.job_id);
    expect(run).toMatchObject({ kind: 'video', input_url: PROBED.url, options: { width: 1280, format: 'mp4' } });
  });

  it('imports {url} into Kiln storage: a copy run, and the stored File', async () => {
    const task = await createTask({ kind: 'import', input: { url: 'https://tapestry-app.com/v.mov' } });
    expect(task).toMatchObject({ kind: 'import', status: 'waiting', options: {}, job_id: null });
    const [run] = await processor.waitForTasks(await jobOf(task));
    expect(run).toMatchObject({ kind: 'copy', options: {}, input_url: 'https://tapestry-app.com/v.mov', output: { type: 'file' } });
    await report(run!, { type: 'succeeded', output: OUTPUT_INFO });
    const done = await (await api(`/tasks/${task.id}`)).json<Task>();
    expect(done).toMatchObject({ status: 'succeeded', output: { object: 'file', format: 'mp4' } });
    expect(done.output.url).toMatch(/^http:\/\/127\.0\.0\.1:8787\/files\/outputs\/job_[0-9a-z]+\/file_[0-9a-z]+$/);
    expect(done.output.url.split('/').at(-1)).toBe(done.output.id);
  });

  it('exports a File to options.url through options.connection_id: a copy run to that bucket', async () => {
    const connection_id = await connection();
    const encoded = { ...PROBED, url: 'https://tapestry-app.com/v-1280.mp4' };
    const task = await createTask({ kind: 'export', input: encoded, options: { url: 's3://media/exports/v.mp4', connection_id } });
    expect(task).toMatchObject({
      kind: 'export',
      status: 'waiting',
      input: encoded,
      options: { url: 's3://media/exports/v.mp4', connection_id },
    });
    const [run] = await processor.waitForTasks(await jobOf(task));
    expect(run).toMatchObject({ kind: 'copy', input_url: encoded.url, output: { type: 'file' } });
    expect((run!.output as { url: string }).url).toMatch(/^http:\/\/127\.0\.0\.1:9000\/media\/exports\/v\.mp4\?/);
    await report(run!, { type: 'succeeded', output: OUTPUT_INFO });
    const done = await (await api(`/tasks/${task.id}`)).json<Task>();
    expect(done).toMatchObject({ status: 'succeeded', output: { object: 'file', url: 's3://media/exports/v.mp4', format: 'mp4' } });
  });

  it('refuses to export an HLS playlist, which is one file of many, naming input.url and what to do', async () => {
    const connection_id = await connection();
    const playlist = { ...PROBED, url: 'https://tapestry-app.com/streams/v/master.m3u8?sig=1' };
    const res = await api('/tasks', {
      method: 'POST',
      json: { kind: 'export', input: playlist, options: { url: 's3://media/v/', connection_id } },
    });
    expect(res.status).toBe(400);
    expect((await res.json<{ issues: unknown[] }>()).issues).toEqual([
      {
        path: 'input.url',
        message:
          'Expected a single file to export, not an HLS playlist: write an HLS package to your bucket with an adaptive_video job (or task) whose output is s3://bucket/prefix/',
      },
    ]);
  });

  it('takes connection_id at the top level too, for an s3:// probe', async () => {
    const connection_id = await connection();
    const task = await createTask({ kind: 'probe', input: { url: 's3://media/in/v.mov' }, connection_id });
    const [run] = await processor.waitForTasks(await jobOf(task));
    expect(run!.input_url).toMatch(/^http:\/\/127\.0\.0\.1:9000\/media\/in\/v\.mov\?/);
  });

  it.each([
    [{ kind: 'probe', input: { url: 'https://e.com/a.mov' }, options: { width: 640 } }, 'options.width', 'probe takes no options'],
    [{ kind: 'import', input: { url: 'https://e.com/a.mov' }, output: 's3://b/k' }, 'output', 'export task'],
    [{ kind: 'probe', input: {} }, 'input', 'Expected input to be {"url": "…"}'],
    [{ kind: 'probe', input: { url: 'ftp://e.com/a.mov' } }, 'input.url', ''],
    [{ kind: 'export', input: PROBED, options: {} }, 'options.url', 'Expected options.url'],
    [{ kind: 'export', input: PROBED, options: { url: 'https://e.com/out.mp4' } }, 'options.url', 's3://bucket/key'],
    [
      { kind: 'export', input: PROBED, options: { url: 's3://media/out.mp4', connection_id: 'conn_nope' } },
      'options.connection_id',
      'conn_nope',
    ],
    [{ kind: 'export', input: PROBED, options: { url: 's3://media/out.mp4', format: 'webm' } }, 'options.format', 'export takes only'],
    [{ kind: 'video', input: { ...PROBED, url: 'http://169.254.169.254/' } }, 'input.url', ''],
  ])('answers 400 naming the field for %j', async (body, path, words) => {
    const res = await api('/tasks', { method: 'POST', json: body });
    expect(res.status).toBe(400);
    const err = await res.json<{ kind: string; issues: { path: string; message: string }[] }>();
    expect(err.kind).toBe('invalid_input');
    expect(err.issues).toContainEqual({ path, message: expect.stringContaining(words) });
  });

  it('replays a probe for the same Idempotency-Key, and says why a failed one failed', async () => {
    const headers = { 'idempotency-key': `probe-${crypto.randomUUID()}` };
    const json = { kind: 'probe', input: { url: 'https://tapestry-app.com/broken.mov' } };
    const first = await api('/tasks', { method: 'POST', json, headers });
    const again = await api('/tasks', { method: 'POST', json, headers });
    expect([first.status, again.status]).toEqual([201, 200]);
    const task = await first.json<Task>();
    expect((await again.json<Task>()).id).toBe(task.id);
    const [run] = await processor.waitForTasks(await jobOf(task));
    const error = { kind: 'input_not_media', message: 'The input is not a video, audio or image file Kiln can read.' } as const;
    await report(run!, { type: 'failed', stage: 'probe', error });
    expect(await (await api(`/tasks/${task.id}`)).json<Task>()).toMatchObject({ status: 'failed', error, output: null });
  });

  it("POSTs the task, not its job, to the task's webhook_url", async () => {
    const name = `task-hook-${crypto.randomUUID()}`;
    const task = await createTask({
      kind: 'probe',
      input: { url: 'https://tapestry-app.com/v.mov' },
      webhook_url: processor.hookUrl(name),
    });
    const [run] = await processor.waitForTasks(await jobOf(task));
    await report(run!, { type: 'succeeded', output: OUTPUT_INFO });
    const [hook] = await vi.waitFor(
      async () => {
        const hooks = await processor.hooks(name);
        if (!hooks.length) throw new Error('no delivery yet');
        return hooks;
      },
      { timeout: 15_000, interval: 50 },
    );
    expect(JSON.parse(hook!.body)).toMatchObject({
      id: task.id,
      object: 'task',
      kind: 'probe',
      status: 'succeeded',
      output: { object: 'file' },
    });
  });
});

describe('GET /tasks', () => {
  it('lists standalone tasks newest first, filtered by kind and status, paged like GET /jobs', async () => {
    const marker = { run: crypto.randomUUID().slice(0, 8) };
    const first = await createTask({ kind: 'probe', input: { url: 'https://tapestry-app.com/1.mov' }, metadata: marker });
    const second = await createTask({ kind: 'audio', url: 'https://tapestry-app.com/2.mp3', metadata: marker });
    const third = await createTask({ kind: 'probe', input: { url: 'https://tapestry-app.com/3.mov' }, metadata: marker });
    const page = await api(`/tasks?metadata[run]=${marker.run}&limit=2`);
    expect(page.status).toBe(200);
    expect((await page.json<Task[]>()).map((t) => t.id)).toEqual([third.id, second.id]);
    expect(page.headers.get('has-more')).toBe('true');
    expect(page.headers.get('limit')).toBe('2');
    const next = new URL(/<([^>]+)>/.exec(page.headers.get('link') ?? '')![1]!);
    expect(next.searchParams.get('after')).toBe(second.id);
    const rest = await api(`${next.pathname}${next.search}`);
    expect((await rest.json<Task[]>()).map((t) => t.id)).toEqual([first.id]);
    expect(rest.headers.get('has-more')).toBe('false');

    // Each task is dispatched as its creation answers; the processor double takes it and reports nothing.
    await vi.waitFor(async () => {
      const probes = await (await api(`/tasks?metadata[run]=${marker.run}&kind=probe&status=processing`)).json<Task[]>();
      expect(probes.map((t) => [t.id, t.kind, t.status])).toEqual([
        [third.id, 'probe', 'processing'],
        [first.id, 'probe', 'processing'],
      ]);
    });
    const asc = await (await api(`/tasks?metadata[run]=${marker.run}&order=asc&before=${third.id}`)).json<Task[]>();
    expect(asc.map((t) => t.id)).toEqual([first.id, second.id]);
  });

  it.each([
    ['/tasks?kind=transcode', 'query.kind'],
    ['/tasks?status=queued', 'query.status'],
    ['/tasks?after=job_01jd', 'query.after'],
  ])('answers 400 for %s', async (path, field) => {
    const res = await api(path);
    expect(res.status).toBe(400);
    expect((await res.json<{ issues: { path: string }[] }>()).issues.map((i) => i.path)).toContain(field);
  });
});
