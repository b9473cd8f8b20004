import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { PRESIGNED_URL_TTL_S, type ProcessorTask } from '../../../schemas/processor.ts';
import { api, createJob, OUTPUT_INFO, processorDouble, report, VIDEO_JOB } from '../helpers.ts';

const processor = processorDouble();

describe('processor callbacks and the job state machine', () => {
  it('dispatches a queued job once with presigned URLs and a per-attempt token', async () => {
    const job = await createJob();
    const [task] = await processor.waitForTasks(job.id);
    expect(task).toMatchObject({ job_id: job.id, attempt: 1, kind: 'video', options: { width: 1920, quality: 'high' } });
    expect(task!.input_url).toBe('https://darkroom-app.com/uploads/clip.mov');
    const output = task!.output as { type: string; url: string };
    expect(output.type).toBe('file');
    expect(output.url).toContain('X-Amz-Signature=');
    expect(output.url).toContain(`/kiln-media/outputs/${job.id}/file_`);
    expect(task!.callback.url).toBe(`http://127.0.0.1:8787/internal/jobs/${job.id}/events?attempt=1`);
    const current = await (await api(`/jobs/${job.id}`)).json<{ status: string; started_at: number }>();
    expect(current.status).toBe('processing');
    expect(current.started_at).toBeGreaterThan(0);
  });

  it('moves progress forward only, closes earlier tasks, and ignores regressions', async () => {
    const job = await createJob();
    const [task] = await processor.waitForTasks(job.id);
    expect((await report(task!, { type: 'progress', stage: 'encode', progress: 50 })).status).toBe(200);
    await report(task!, { type: 'progress', stage: 'import', progress: 10 });
    const state = await (await api(`/jobs/${job.id}`)).json<{ progress: number; tasks: { kind: string; status: string }[] }>();
    expect(state.progress).toBe(57);
    expect(state.tasks.map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'processing', 'waiting']);
  });

  it('records success with the output file, and ignores a duplicate and a late failure', async () => {
    const job = await createJob({ metadata: { user_id: 'usr_1' } });
    const [task] = await processor.waitForTasks(job.id);
    expect((await report(task!, { type: 'succeeded', output: OUTPUT_INFO })).status).toBe(200);
    const done = await (await api(`/jobs/${job.id}`)).json<Record<string, any>>();
    expect(done.status).toBe('succeeded');
    expect(done.progress).toBe(100);
    expect(done.metadata).toEqual({ user_id: 'usr_1' });
    expect(done.output).toMatchObject({ object: 'file', kind: 'video', width: 1920, codecs: { video: 'h264' } });
    expect(done.output.url).toMatch(new RegExp(`^http://127.0.0.1:8787/files/outputs/${job.id}/file_[0-9a-z]{26}\\.mp4$`));
    expect(done.output.id).toMatch(/^file_/);
    expect(done.tasks.every((t: { status: string }) => t.status === 'succeeded')).toBe(true);

    const duplicate = await report(task!, { type: 'succeeded', output: { ...OUTPUT_INFO, width: 1 } });
    const late = await report(task!, { type: 'failed', stage: 'encode', error: { kind: 'processing_failed', message: 'x' } });
    expect(duplicate.status).toBe(200);
    expect(late.status).toBe(200);
    const after = await (await api(`/jobs/${job.id}`)).json<Record<string, any>>();
    expect(after).toEqual(done);
  });

  it("shows each task's input, options and output as in Ittybit's get-job example", async () => {
    const job = await createJob();
    const [task] = await processor.waitForTasks(job.id);
    await report(task!, { type: 'progress', stage: 'probe', progress: 100, input: { ...OUTPUT_INFO, width: 3840, height: 2160 } });
    await report(task!, { type: 'succeeded', output: OUTPUT_INFO });
    const done = await (await api(`/jobs/${job.id}`)).json<Record<string, any>>();
    const given = { object: 'external_file', url: VIDEO_JOB.input };
    const probed = { object: 'file', url: VIDEO_JOB.input, kind: 'video', format: 'mp4', width: 3840, height: 2160, duration: 2 };
    const [probe, imported, encode, exported] = done.tasks;
    expect(probe).toMatchObject({ kind: 'probe', input: given, options: {}, output: probed });
    expect(probe.output.id).toMatch(/^file_/);
    // The processor reads the input itself, so the import's output is the input, not a copy.
    expect(imported).toMatchObject({ kind: 'import', input: given, options: {}, output: probed });
    expect(encode).toMatchObject({ kind: 'video', input: probed, options: VIDEO_JOB.options, output: done.output });
    expect(exported).toMatchObject({ kind: 'export', input: done.output, options: {}, output: done.output });
  });

  it('fails the job with the processor reason, failing that task and cancelling the rest', async () => {
    const job = await createJob();
    const [task] = await processor.waitForTasks(job.id);
    await report(task!, { type: 'progress', stage: 'probe', progress: 100 });
    const error = { kind: 'no_video_stream' as const, message: 'The input has no video stream; use kind "audio".' };
    await report(task!, { type: 'failed', stage: 'encode', error });
    const failed = await (await api(`/jobs/${job.id}`)).json<Record<string, any>>();
    expect(failed.status).toBe('failed');
    expect(failed.error).toEqual(error);
    expect(failed.tasks.map((t: { status: string }) => t.status)).toEqual(['succeeded', 'succeeded', 'failed', 'cancelled']);
    expect(failed.tasks[2].error).toEqual(error);
  });

  it('refuses a callback with a wrong token or another attempt number with 401', async () => {
    const job = await createJob();
    const [task] = await processor.waitForTasks(job.id);
    const wrongToken = await report(task!, { type: 'progress', stage: 'import', progress: 1 }, 'f'.repeat(64));
    expect(wrongToken.status).toBe(401);
    const otherAttempt = await report(task!, { type: 'progress', stage: 'import', progress: 1, attempt: 2 });
    expect(otherAttempt.status).toBe(401);
  });

  it('tells the processor to stop (409) once the job is cancelled', async () => {
    const job = await createJob();
    const [task] = await processor.waitForTasks(job.id);
    await api(`/jobs/${job.id}/cancel`, { method: 'POST' });
    const res = await report(task!, { type: 'progress', stage: 'encode', progress: 20 });
    expect(res.status).toBe(409);
    expect((await api(`/jobs/${job.id}`).then((r) => r.json<{ status: string }>())).status).toBe('cancelled');
  });

  it('queues a run given back by a stopping processor again at once, as a new attempt', async () => {
    const job = await createJob();
    const [first] = await processor.waitForTasks(job.id);
    await report(first!, { type: 'progress', stage: 'encode', progress: 40 });
    const reason = 'The processor is stopping (SIGTERM).';
    const res = await report(first!, { type: 'given_back', stage: 'encode', reason });
    expect(res.status).toBe(200);
    const [, second] = await processor.waitForTasks(job.id, 2);
    expect(second).toMatchObject({ job_id: job.id, attempt: 2 });
    const events = await (await api(`/jobs/${job.id}/events`)).json<Array<{ type: string; detail: unknown }>>();
    expect(events.find((e) => e.type === 'run_given_back')?.detail).toEqual({ attempt: 1, stage: 'encode', reason });
    expect(events.map((e) => e.type)).not.toContain('run_lost');
    expect((await report(second!, { type: 'succeeded', output: OUTPUT_INFO })).status).toBe(200);
  });

  it('refuses a give-back from a run that is no longer current: it cannot requeue the job again', async () => {
    const job = await createJob();
    const [first] = await processor.waitForTasks(job.id);
    await report(first!, { type: 'given_back', stage: 'import', reason: 'The processor is stopping (SIGTERM).' });
    const [, second] = await processor.waitForTasks(job.id, 2);
    const stale = await report(first!, { type: 'given_back', stage: 'import', reason: 'The processor is stopping (SIGTERM).' });
    expect(stale.status).toBe(409);
    await report(second!, { type: 'progress', stage: 'encode', progress: 10 });
    const events = await (await api(`/jobs/${job.id}/events`)).json<Array<{ type: string }>>();
    expect(events.filter((e) => e.type === 'run_given_back')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'run_started')).toHaveLength(2);
    expect((await api(`/jobs/${job.id}`).then((r) => r.json<{ status: string }>())).status).toBe('processing');
  });

  it('refuses a malformed event with 400 naming the field', async () => {
    const job = await createJob();
    const [task] = await processor.waitForTasks(job.id);
    const res = await report(task!, { type: 'progress', stage: 'encode', progress: 250 } as never);
    expect(res.status).toBe(400);
    expect((await res.json<{ issues: { path: string }[] }>()).issues[0]?.path).toBe('progress');
  });
});

describe('multi-file outputs', () => {
  async function askForUrls(task: ProcessorTask, body: unknown, token = task.callback.token) {
    const url = (task.output as { files_url: string }).files_url;
    return exports.default.fetch(
      new Request(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    );
  }

  it('signs one PUT per named file inside the job folder for an HLS job', async () => {
    const job = await createJob({ kind: 'adaptive_video', options: { format: 'hls' } });
    const [task] = await processor.waitForTasks(job.id);
    expect(task!.output).toEqual({ type: 'folder', files_url: `http://127.0.0.1:8787/internal/jobs/${job.id}/outputs?attempt=1` });
    const res = await askForUrls(task!, { attempt: 1, names: ['master.m3u8', '720p/index.m3u8', '720p/seg_000.ts'] });
    expect(res.status).toBe(200);
    const { urls } = await res.json<{ urls: Record<string, string> }>();
    expect(Object.keys(urls)).toEqual(['master.m3u8', '720p/index.m3u8', '720p/seg_000.ts']);
    const folder = new URL(urls['master.m3u8']!).pathname.replace(/master\.m3u8$/, '');
    expect(folder).toMatch(new RegExp(`/kiln-media/outputs/${job.id}/file_[0-9a-z]+/$`));
    expect(new URL(urls['720p/seg_000.ts']!).pathname).toBe(`${folder}720p/seg_000.ts`);
    // Each PUT must carry the type the processor sends for its extension (schemas/formats.ts folderFileTypeOf).
    expect(new URL(urls['720p/seg_000.ts']!).searchParams.get('X-Amz-SignedHeaders')).toBe('content-type;host');
    await report(task!, {
      type: 'succeeded',
      output: { ...OUTPUT_INFO, format: 'hls', type: 'application/vnd.apple.mpegurl' },
      name: 'master.m3u8',
    });
    const done = await (await api(`/jobs/${job.id}`)).json<{ output: { url: string; id: string } }>();
    const key = folder.slice(folder.indexOf('/outputs/') + 1);
    expect(done.output.url).toBe(`http://127.0.0.1:8787/files/${key}master.m3u8`);
    expect(done.output.id).toMatch(/^file_/);
  });

  it.each([['../escape.ts'], ['/abs.ts'], ['a/../../b.ts'], ['']])('refuses the file name %j', async (name) => {
    const job = await createJob({ kind: 'adaptive_video', options: {} });
    const [task] = await processor.waitForTasks(job.id);
    const res = await askForUrls(task!, { attempt: 1, names: [name] });
    expect(res.status).toBe(400);
  });

  it('refuses a wrong token, and tells a superseded run to stop', async () => {
    const job = await createJob({ kind: 'adaptive_video', options: {} });
    const [task] = await processor.waitForTasks(job.id);
    expect((await askForUrls(task!, { attempt: 1, names: ['a.ts'] }, 'f'.repeat(64))).status).toBe(401);
    await api(`/jobs/${job.id}/cancel`, { method: 'POST' });
    expect((await askForUrls(task!, { attempt: 1, names: ['a.ts'] })).status).toBe(409);
  });

  it('requires an s3 output prefix ending in / for HLS, and refuses one for single files', async () => {
    const hls = await api('/jobs', { method: 'POST', json: { ...VIDEO_JOB, kind: 'adaptive_video', options: {}, output: 's3://b/hls' } });
    expect((await hls.json<{ issues: { path: string }[] }>()).issues[0]?.path).toBe('output');
    const mp4 = await api('/jobs', { method: 'POST', json: { ...VIDEO_JOB, output: 's3://b/folder/' } });
    expect((await mp4.json<{ issues: { path: string }[] }>()).issues[0]?.path).toBe('output');
  });
});

describe('URLs minted again for a run that waited in the processor backlog', () => {
  function askForFreshUrls(task: ProcessorTask, attempt: number, token = task.callback.token) {
    return exports.default.fetch(
      new Request(task.refresh_url!, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ attempt }),
      }),
    );
  }

  it('signs the same objects again, with the output type, for the current run only', async () => {
    const upload = await (await api('/uploads', { method: 'POST', json: { filename: 'clip.mov', content_type: 'video/quicktime' } })).json<{
      file: { id: string };
    }>();
    const job = await createJob({ input: upload.file.id });
    const [task] = await processor.waitForTasks(job.id);
    expect(task!.refresh_url).toBe(`http://127.0.0.1:8787/internal/jobs/${job.id}/urls?attempt=1`);
    const res = await askForFreshUrls(task!, 1);
    expect(res.status).toBe(200);
    const fresh = await res.json<Pick<ProcessorTask, 'input_url' | 'output'>>();
    const input = new URL(fresh.input_url);
    expect(input.pathname).toBe(new URL(task!.input_url).pathname);
    expect(input.searchParams.get('X-Amz-Expires')).toBe(String(PRESIGNED_URL_TTL_S));
    const output = new URL((fresh.output as { url: string }).url);
    expect(output.pathname).toBe(new URL((task!.output as { url: string }).url).pathname);
    expect(output.searchParams.get('X-Amz-SignedHeaders')).toBe('content-type;host');
    expect((await askForFreshUrls(task!, 1, 'f'.repeat(64))).status).toBe(401);
    expect((await askForFreshUrls(task!, 2)).status).toBe(401);
    await api(`/jobs/${job.id}/cancel`, { method: 'POST' });
    expect((await askForFreshUrls(task!, 1)).status).toBe(409);
  });

  it('leaves the type of an image that keeps its input format unsigned: it is known only after the probe', async () => {
    const job = await createJob({ kind: 'image', options: { width: 320 } });
    const [task] = await processor.waitForTasks(job.id);
    expect(new URL((task!.output as { url: string }).url).searchParams.get('X-Amz-SignedHeaders')).toBe('host');
  });
});
