import { describe, expect, it } from 'vitest';
import { api, VIDEO_JOB } from '../helpers.ts';

type ErrorBody = { kind: string; message: string; issues: { path: string; message: string }[] };

async function refused(path: '/jobs' | '/tasks', body: unknown): Promise<ErrorBody> {
  const res = await api(path, { method: 'POST', json: body });
  expect(res.status).toBe(400);
  const err = await res.json<ErrorBody>();
  expect(err.kind).toBe('invalid_input');
  expect(err.message).toBe(err.issues.map((i) => i.message).join('; '));
  return err;
}

async function created(path: '/jobs' | '/tasks', body: unknown): Promise<{ options: Record<string, unknown> }> {
  const res = await api(path, { method: 'POST', json: body });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json();
}

describe('video, image and animation options from the Ittybit docs and guides', () => {
  it('takes the preview-clip guide body as written (start, end, width, mute, format)', async () => {
    const task = {
      input: 'https://streamline-app.com/content/doc-ocean-deep.mp4',
      kind: 'video',
      options: { start: 45, end: 52, width: 480, mute: true, format: 'mp4' },
    };
    expect((await created('/jobs', task)).options).toEqual(task.options);
  });

  it('reads format "jpg" as jpeg', async () => {
    const job = await created('/jobs', {
      input: 'https://reel-app.com/videos/keynote-2025.mp4',
      kind: 'image',
      options: { width: 160, format: 'jpg' },
    });
    expect(job.options).toEqual({ width: 160, format: 'jpeg' });
  });

  it.each(['video', 'image', 'audio', 'animation', 'adaptive_video'])('reads quality "auto" as the default tier for %s', async (kind) => {
    const job = await created('/jobs', { ...VIDEO_JOB, kind, options: { quality: 'auto' } });
    expect(job.options).toEqual({ quality: 'medium' });
  });

  it.each(['video', 'image', 'animation'])('takes width and height as percentages for %s', async (kind) => {
    const job = await created('/jobs', { ...VIDEO_JOB, kind, options: { width: '50%', height: '50%' } });
    expect(job.options).toEqual({ width: '50%', height: '50%' });
  });

  it('refuses the thumbnail-track guide body naming interval, and nothing else', async () => {
    const err = await refused('/jobs', {
      input: 'https://reel-app.com/videos/keynote-2025.mp4',
      kind: 'image',
      options: { interval: 5, width: 160, format: 'jpg' },
    });
    expect(err.issues).toEqual([
      {
        path: 'options.interval',
        message:
          'options.interval is not supported by Kiln; a job makes one image; create one image job per frame, each with options.start set to its time.',
      },
    ]);
  });

  it('refuses the burn-in subtitle guide body naming subtitle_url and subtitle_style', async () => {
    const err = await refused('/jobs', {
      input: 'https://lectora-app.com/courses/intro-to-python.mp4',
      kind: 'video',
      options: {
        subtitle_url: 'https://lectora-app.com/courses/intro-to-python.vtt',
        subtitle_style: 'burn_in',
        format: 'mp4',
      },
    });
    const instead = 'serve the VTT/SRT file next to the video in an HTML track element, or burn it in before sending the video.';
    expect(err.issues).toEqual([
      { path: 'options.subtitle_url', message: `options.subtitle_url is not supported by Kiln; ${instead}` },
      { path: 'options.subtitle_style', message: `options.subtitle_style is not supported by Kiln; ${instead}` },
    ]);
  });

  it('refuses the video docs example naming only its layers', async () => {
    const err = await refused('/tasks', {
      url: 'https://example.com/video.mp4',
      kind: 'video',
      options: {
        width: 720,
        height: 1280,
        fit: 'contain',
        position: 'center',
        background: '#20B075',
        fps: 30,
        format: 'mp4',
        quality: 'high',
        start: 0,
        end: 10,
        layers: [{ kind: 'image', url: 'https://example.com/logo.png' }],
      },
    });
    expect(err.issues).toEqual([
      {
        path: 'options.layers',
        message: 'options.layers is not supported by Kiln; add image or text overlays to the video before sending it.',
      },
    ]);
  });

  it('reads duration (the clip-videos guide) as end = start + duration', async () => {
    const task = await created('/tasks', { url: 'https://ittyb.it/sample.mp4', kind: 'video', options: { start: 12.34, duration: 60 } });
    expect(task.options).toEqual({ start: 12.34, end: 72.34 });
    const first = await created('/tasks', { url: 'https://ittyb.it/sample.mp4', kind: 'video', options: { duration: 60 } });
    expect(first.options).toEqual({ end: 60 });
  });

  it('refuses duration with end, naming duration', async () => {
    const err = await refused('/jobs', { ...VIDEO_JOB, options: { start: 1, end: 5, duration: 4 } });
    expect(err.issues).toEqual([
      {
        path: 'options.duration',
        message: 'Expected only one of duration and end (end = start + duration) for options.duration but received 4 of type number',
      },
    ]);
  });

  it('takes frames, and mute_video as another name for mute', async () => {
    const job = await created('/jobs', { ...VIDEO_JOB, options: { frames: 10, mute_video: true } });
    expect(job.options).toEqual({ frames: 10, mute: true });
  });

  it.each([
    [{ frames: 0 }, 'options.frames', 'Expected a number >= 1 for options.frames but received 0 of type number'],
    [{ frames: 2.5 }, 'options.frames', 'Expected int for options.frames but received 2.5 of type number'],
    [
      { mute: false, mute_video: true },
      'options.mute_video',
      'Expected the same value as mute (mute_video is another name for it) for options.mute_video but received true of type boolean',
    ],
    [
      { codec: 'av1', format: 'mov' },
      'options.codec',
      'Expected h264 or h265 for format mov (av1 needs format mp4 or webm) for options.codec but received "av1" of type string',
    ],
    [
      { codec: 'vp9', format: 'mp4' },
      'options.codec',
      'Expected h264, h265 or av1 for format mp4 for options.codec but received "vp9" of type string',
    ],
  ])('refuses video options %j naming %s', async (options, path, message) => {
    const err = await refused('/jobs', { ...VIDEO_JOB, options });
    expect(err.issues).toEqual([{ path, message }]);
  });

  it('takes av1 in mp4 and webm', async () => {
    await created('/jobs', { ...VIDEO_JOB, options: { codec: 'av1', format: 'mp4' } });
    await created('/jobs', { ...VIDEO_JOB, options: { codec: 'av1', format: 'webm' } });
  });

  it('takes an animation without end, and fps up to 60 for webp and 50 for gif', async () => {
    expect((await created('/jobs', { ...VIDEO_JOB, kind: 'animation', options: {} })).options).toEqual({});
    await created('/jobs', { ...VIDEO_JOB, kind: 'animation', options: { fps: 60, format: 'webp' } });
    await created('/jobs', { ...VIDEO_JOB, kind: 'animation', options: { fps: 50 } });
    const job = await created('/jobs', { ...VIDEO_JOB, kind: 'animation', options: { start: 2, duration: 3 } });
    expect(job.options).toEqual({ start: 2, end: 5 });
  });

  it.each([
    [
      { fps: 51 },
      'Expected at most 50 for format gif (browsers slow faster GIFs down; use format webp for more) for options.fps but received 51 of type number',
    ],
    [{ fps: 61, format: 'webp' }, 'Expected a number <= 60 for options.fps but received 61 of type number'],
  ])('refuses animation options %j naming fps', async (options, message) => {
    const err = await refused('/jobs', { ...VIDEO_JOB, kind: 'animation', options });
    expect(err.issues).toEqual([{ path: 'options.fps', message }]);
  });
});
