import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { ProcessorTask } from '../../../schemas/processor.ts';
import { api, OUTPUT_INFO, processorDouble, report } from '../helpers.ts';

const processor = processorDouble();
const INPUT = 'https://darkroom-app.com/uploads/lecture.mp4';

type Problem = { kind: string; message: string; issues: { path: string; message: string }[] };

async function createdOrProblem(body: Record<string, unknown>): Promise<{ status: number; body: Record<string, any> & Problem }> {
  const res = await api('/jobs', { method: 'POST', json: body });
  return { status: res.status, body: await res.json() };
}

async function connection(): Promise<string> {
  const res = await api('/connections', {
    method: 'POST',
    json: { endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', access_key_id: 'AKIAEXAMPLE', secret_access_key: 's3cret' },
  });
  return (await res.json<{ id: string }>()).id;
}

function askForUrls(task: ProcessorTask, names: string[]) {
  const output = task.output as { files_url: string };
  return exports.default.fetch(
    new Request(output.files_url, {
      method: 'POST',
      headers: { authorization: `Bearer ${task.callback.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ attempt: task.attempt, names }),
    }),
  );
}

describe('audio options from Ittybit docs and guides', () => {
  it('accepts normalize "lufs" with target_lufs, as the normalize-audio-levels guide sends them', async () => {
    const { status, body } = await createdOrProblem({
      input: INPUT,
      kind: 'audio',
      options: { format: 'mp3', normalize: 'lufs', target_lufs: -16 },
    });
    expect(status).toBe(201);
    expect(body.options).toEqual({ format: 'mp3', normalize: 'lufs', target_lufs: -16 });
  });

  it.each([
    [{ bitrate: 31_999 }, 'options.bitrate', 'Expected a number >= 32000 for options.bitrate but received 31999 of type number'],
    [{ bitrate: 320_001 }, 'options.bitrate', 'Expected a number <= 320000 for options.bitrate but received 320001 of type number'],
    [
      { normalize: 'lufs', target_lufs: -71 },
      'options.target_lufs',
      'Expected a number >= -70 for options.target_lufs but received -71 of type number',
    ],
    [
      { normalize: 'lufs', target_lufs: -4 },
      'options.target_lufs',
      'Expected a number <= -5 for options.target_lufs but received -4 of type number',
    ],
    [{ normalize: 'rms' }, 'options.normalize', 'Expected one of "lufs" for options.normalize but received "rms" of type string'],
    [
      { target_lufs: -14 },
      'options.normalize',
      'Expected "lufs" (target_lufs only applies with normalize "lufs") for options.normalize but received nothing',
    ],
  ])('answers 400 naming the field for %j', async (options, path, message) => {
    const { status, body } = await createdOrProblem({ input: INPUT, kind: 'audio', options });
    expect(status).toBe(400);
    expect(body.kind).toBe('invalid_input');
    expect(body.issues).toEqual([{ path, message }]);
  });

  it('refuses waveform by name, saying why, not as an unknown field (extract-audio-waveform-data guide)', async () => {
    const { status, body } = await createdOrProblem({
      input: INPUT,
      kind: 'audio',
      options: { waveform: 'json', waveform_points: 200 },
    });
    expect(status).toBe(400);
    expect(body.issues.map((i) => i.path)).toEqual(['options.waveform', 'options.waveform_points']);
    expect(body.issues[0]!.message).toBe(
      'options.waveform is not supported by Kiln; a job writes one audio file and Kiln makes no waveform data: remove waveform and waveform_points, and compute peaks from the audio output in your player.',
    );
    expect(body.message).not.toMatch(/Unknown field/);
  });
});

describe('adaptive_video options and outputs', () => {
  it('accepts quality and the sizing options (Ittybit create-task table) and hands them to the processor', async () => {
    const options = {
      format: 'hls',
      quality: 'high',
      width: 1280,
      height: 720,
      fit: 'contain',
      position: 'center',
      background: '#000000',
      start: 0,
      end: 60,
    };
    const { status, body } = await createdOrProblem({ input: INPUT, kind: 'adaptive_video', options });
    expect(status).toBe(201);
    const [task] = await processor.waitForTasks(body.id);
    expect(task!.options).toEqual(options);
  });

  it('writes to an s3:// prefix ending in / (hls-streaming-with-cloudfront guide) with master.m3u8 inside it', async () => {
    const connection_id = await connection();
    const { status, body } = await createdOrProblem({
      input: INPUT,
      kind: 'adaptive_video',
      options: { format: 'hls' },
      output: 's3://my-stream-bucket/streams/lecture/',
      connection_id,
    });
    expect(status).toBe(201);
    const [task] = await processor.waitForTasks(body.id);
    expect(task!.output).toEqual({ type: 'folder', files_url: expect.stringContaining('/outputs?attempt=1') });
  });

  it("writes to an s3:// key ending in .m3u8 (the CLI's -o): its folder is the prefix, its name the master playlist's", async () => {
    const connection_id = await connection();
    const { status, body } = await createdOrProblem({
      input: INPUT,
      kind: 'adaptive_video',
      options: { format: 'hls' },
      output: 's3://my-stream-bucket/streams/lecture/stream.m3u8',
      connection_id,
    });
    expect(status).toBe(201);
    const [task] = await processor.waitForTasks(body.id);
    expect(task!.output).toMatchObject({ type: 'folder', main: 'stream.m3u8' });
    const res = await askForUrls(task!, ['stream.m3u8', '720p/index.m3u8', '720p/segment_000.ts']);
    expect(res.status).toBe(200);
    const { urls } = await res.json<{ urls: Record<string, string> }>();
    expect(new URL(urls['stream.m3u8']!).pathname).toBe('/my-stream-bucket/streams/lecture/stream.m3u8');
    expect(new URL(urls['720p/segment_000.ts']!).pathname).toBe('/my-stream-bucket/streams/lecture/720p/segment_000.ts');
    await report(task!, {
      type: 'succeeded',
      output: { ...OUTPUT_INFO, format: 'hls', type: 'application/vnd.apple.mpegurl' },
      name: 'stream.m3u8',
    });
    const done = await (await api(`/jobs/${body.id}`)).json<{
      output: { url: string };
      tasks: { kind: string; options: Record<string, unknown> }[];
    }>();
    expect(done.output.url).toBe('s3://my-stream-bucket/streams/lecture/stream.m3u8');
    // The export task shows its destination as it was sent, playlist name included.
    expect(done.tasks.find((t) => t.kind === 'export')?.options).toEqual({
      url: 's3://my-stream-bucket/streams/lecture/stream.m3u8',
      connection_id,
    });
  });

  it.each([
    ['s3://my-stream-bucket/streams/lecture', /Expected a prefix ending in \/ .* or a playlist key ending in \.m3u8/],
    ['s3://my-stream-bucket/stream.m3u8', /Expected the playlist inside a folder for output/],
    [
      's3://my-stream-bucket/streams/lecture/my stream.m3u8',
      /Expected a playlist name of letters, digits, _ - \. ending in \.m3u8 for output/,
    ],
  ])('answers 400 naming output for %s', async (output, message) => {
    const connection_id = await connection();
    const { status, body } = await createdOrProblem({ input: INPUT, kind: 'adaptive_video', options: {}, output, connection_id });
    expect(status).toBe(400);
    expect(body.issues).toEqual([{ path: 'output', message: expect.stringMatching(message) }]);
  });
});
