import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsClient } from 'aws4fetch';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { download } from '../support/api-client.ts';
import { probe as ffprobe, topLevelAtoms } from '../support/inspect.ts';
import { fixture } from '../support/media.ts';
import { LOCAL_S3, startStack } from './support/stack.ts';

let stack: Awaited<ReturnType<typeof startStack>>;
let workDir: string;

beforeAll(async () => {
  stack = await startStack();
  workDir = await mkdtemp(join(tmpdir(), 'kiln-e2e-'));
});
afterAll(async () => {
  await stack?.close();
});

describe('a job through queue → processor → callback → Durable Object', () => {
  it('turns a 1080p upload into a 1280-wide web MP4 that can be downloaded', async () => {
    const created = await stack.api<{ id: string; status: string }>('/jobs', {
      method: 'POST',
      json: {
        input: stack.mediaUrl('clip-1080p.mov'),
        kind: 'video',
        options: { width: 1280, format: 'mp4' },
        metadata: { user_id: 'usr_abc123' },
      },
    });
    expect(created.status).toBe(201);
    const job = await stack.waitForJob(created.body.id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    expect(job.progress).toBe(100);
    expect(job.metadata).toEqual({ user_id: 'usr_abc123' });
    expect(job.output).toMatchObject({ kind: 'video', format: 'mp4', type: 'video/mp4', width: 1280, height: 720 });
    expect(job.tasks.map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    expect(job.tasks[0]?.output).toMatchObject({ width: 1920, height: 1080 });

    const path = await download(job.output!.url, workDir, 'out.mp4');
    const probe = await ffprobe(path);
    const video = probe.streams?.find((s) => s.codec_type === 'video');
    const audio = probe.streams?.find((s) => s.codec_type === 'audio');
    expect(video).toMatchObject({ codec_name: 'h264', pix_fmt: 'yuv420p', width: 1280, height: 720, profile: 'High' });
    expect(audio).toMatchObject({ codec_name: 'aac', channels: 2, sample_rate: '48000' });
    expect(Number(probe.format?.duration)).toBeCloseTo(1, 0);
    const atoms = await topLevelAtoms(path);
    expect(atoms.indexOf('moov')).toBeLessThan(atoms.indexOf('mdat'));
  });

  it('fails a job whose input is not media, saying why, and never leaves it processing', async () => {
    const created = await stack.api<{ id: string }>('/jobs', {
      method: 'POST',
      json: { input: stack.mediaUrl('text.mp4'), kind: 'video' },
    });
    const job = await stack.waitForJob(created.body.id);
    expect(job.status).toBe('failed');
    expect(job.error).toEqual({ kind: 'input_not_media', message: 'The input is not a video, audio or image file Kiln can read.' });
  });

  it('fails with input_unreachable when the input URL answers 404', async () => {
    const created = await stack.api<{ id: string }>('/jobs', {
      method: 'POST',
      json: { input: stack.mediaUrl('missing.mov'), kind: 'video' },
    });
    const job = await stack.waitForJob(created.body.id);
    expect(job.status).toBe('failed');
    expect(job.error?.kind).toBe('input_unreachable');
    expect(job.error?.message).toContain('404');
  });

  it('publishes an HLS ladder whose master, media playlists and segments are all served', async () => {
    const created = await stack.api<{ id: string }>('/jobs', {
      method: 'POST',
      json: { input: stack.mediaUrl('clip-1080p.mov'), kind: 'adaptive_video', options: { format: 'hls', quality: 'low' } },
    });
    expect(created.status).toBe(201);
    const job = await stack.waitForJob(created.body.id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.output).toMatchObject({ format: 'hls', type: 'application/vnd.apple.mpegurl' });
    const masterUrl = job.output!.url;
    expect(masterUrl).toMatch(/\/master\.m3u8$/);
    const master = await fetch(masterUrl);
    expect(master.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    const variants = (await master.text()).split('\n').filter((l) => l.endsWith('.m3u8'));
    expect(variants.map((v) => v.split('/')[0])).toEqual(['1080p', '720p', '480p', '360p']);
    for (const variant of variants) {
      const mediaUrl = new URL(variant, masterUrl);
      const playlist = await (await fetch(mediaUrl)).text();
      expect(playlist).toContain('#EXT-X-ENDLIST');
      const segment = playlist.split('\n').find((l) => l.endsWith('.ts'))!;
      const bytes = await fetch(new URL(segment, mediaUrl));
      expect(bytes.status).toBe(200);
      expect(bytes.headers.get('content-type')).toBe('video/mp2t');
      const path = join(workDir, `${variant.replace('/', '-')}.ts`);
      await writeFile(path, Buffer.from(await bytes.arrayBuffer()));
      const probe = await ffprobe(path);
      expect(probe.streams?.find((st) => st.codec_type === 'video')).toMatchObject({
        codec_name: 'h264',
        height: Number(variant.split('p')[0]),
      });
    }
  });
});

describe('adaptive_video to an s3:// playlist key', () => {
  it("packages an audio-only input as HLS at s3://kiln-media/streams/lecture/stream.m3u8 (the CLI's -o shape)", async () => {
    const s3 = new AwsClient({ ...LOCAL_S3, service: 's3' });
    const endpoint = `${stack.base}/cdn-cgi/local/r2/s3`;
    const conn = await stack.api<{ id: string }>('/connections', {
      method: 'POST',
      json: { endpoint, region: 'auto', access_key_id: LOCAL_S3.accessKeyId, secret_access_key: LOCAL_S3.secretAccessKey },
    });
    expect(conn.status).toBe(201);
    const created = await stack.api<{ id: string }>('/jobs', {
      method: 'POST',
      json: {
        input: stack.mediaUrl('tone.wav'),
        kind: 'adaptive_video',
        options: { format: 'hls' },
        output: 's3://kiln-media/streams/lecture/stream.m3u8',
        connection_id: conn.body.id,
      },
    });
    expect(created.status).toBe(201);
    const job = await stack.waitForJob(created.body.id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.output).toMatchObject({ format: 'hls', kind: 'audio', url: 's3://kiln-media/streams/lecture/stream.m3u8' });
    const master = await s3.fetch(`${endpoint}/kiln-media/streams/lecture/stream.m3u8`);
    expect(master.status).toBe(200);
    const text = await master.text();
    expect(text).toMatch(/CODECS="mp4a\.40\.2"/);
    expect(text.split('\n').filter((l) => l.endsWith('.m3u8'))).toEqual(['audio/index.m3u8']);
    const playlist = await (await s3.fetch(`${endpoint}/kiln-media/streams/lecture/audio/index.m3u8`)).text();
    expect(playlist).toContain('#EXT-X-ENDLIST');
    const segment = playlist.split('\n').find((l) => l.endsWith('.ts'))!;
    const bytes = await s3.fetch(`${endpoint}/kiln-media/streams/lecture/audio/${segment}`);
    expect(bytes.status).toBe(200);
    const path = join(workDir, 'audio-only.ts');
    await writeFile(path, Buffer.from(await bytes.arrayBuffer()));
    expect((await ffprobe(path)).streams?.map((st) => st.codec_name)).toEqual(['aac']);
  });
});

describe('POST /jobs/batch: one upload, several outputs, one run', () => {
  type Job = Awaited<ReturnType<typeof stack.waitForJob>>;

  async function streamOf(job: Job, name: string, type: 'video' | 'audio') {
    const probe = await ffprobe(await download(job.output!.url, workDir, name));
    return probe.streams?.find((s) => s.codec_type === type);
  }

  it("runs the seed's three outputs from one download, each job succeeding with its own output", async () => {
    const input = 'clip-1080p.mov?batch=seed';
    const created = await stack.api<{ id: string; kind: string; status: string }[]>('/jobs/batch', {
      method: 'POST',
      json: {
        input: stack.mediaUrl(input),
        outputs: [
          { kind: 'video', options: { width: 1920, format: 'mp4', quality: 'high' }, metadata: { role: 'hd' } },
          { kind: 'image', options: { start: 1, width: 640, format: 'webp' }, metadata: { role: 'thumbnail' } },
          { kind: 'video', options: { width: 480, quality: 'low', format: 'mp4' }, metadata: { role: 'preview' } },
        ],
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.map((j) => [j.kind, j.status])).toEqual([
      ['video', 'queued'],
      ['image', 'queued'],
      ['video', 'queued'],
    ]);
    const [hd, thumbnail, preview] = await Promise.all(created.body.map((j) => stack.waitForJob(j.id)));
    for (const job of [hd!, thumbnail!, preview!]) expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect(hd!.metadata).toEqual({ role: 'hd' });
    expect(hd!.output).toMatchObject({ kind: 'video', format: 'mp4', width: 1920, height: 1080 });
    expect(thumbnail!.output).toMatchObject({ kind: 'image', format: 'webp', type: 'image/webp', width: 640, height: 360 });
    expect(preview!.output).toMatchObject({ kind: 'video', format: 'mp4', width: 480, height: 270 });
    expect(await streamOf(hd!, 'batch-hd.mp4', 'video')).toMatchObject({ codec_name: 'h264', width: 1920, height: 1080 });
    expect(await streamOf(preview!, 'batch-preview.mp4', 'video')).toMatchObject({ codec_name: 'h264', width: 480, height: 270 });
    expect(await streamOf(preview!, 'batch-preview-audio.mp4', 'audio')).toMatchObject({ codec_name: 'aac' });
    expect((await ffprobe(await download(thumbnail!.output!.url, workDir, 'batch-thumb.webp'))).streams?.[0]).toMatchObject({
      codec_name: 'webp',
      width: 640,
      height: 360,
    });
    expect(stack.mediaRequests(input)).toBe(1);
  });

  it('keeps one output failing and one cancelled mid-run to their own jobs while the sibling succeeds', async () => {
    const input = 'clip-1080p.mov?batch=mixed';
    // A connection whose secret the bucket refuses: only the output written through it fails.
    const conn = await stack.api<{ id: string }>('/connections', {
      method: 'POST',
      json: {
        endpoint: `${stack.base}/cdn-cgi/local/r2/s3`,
        region: 'auto',
        access_key_id: LOCAL_S3.accessKeyId,
        secret_access_key: 'not-the-bucket-secret',
      },
    });
    expect(conn.status).toBe(201);
    const created = await stack.api<{ id: string }[]>('/jobs/batch', {
      method: 'POST',
      json: {
        input: stack.mediaUrl(input),
        connection_id: conn.body.id,
        outputs: [
          { kind: 'video', options: { width: 640, format: 'mp4', quality: 'low' } },
          { kind: 'image', options: { width: 320, format: 'webp' }, output: 's3://kiln-media/batch/thumb.webp' },
          { kind: 'video', options: { width: 1280, format: 'mp4', quality: 'high' } },
        ],
      },
    });
    expect(created.status).toBe(201);
    const [video, image, ladder] = created.body.map((j) => j.id) as [string, string, string];
    // ladder: the sibling cancelled while the shared encode runs.
    await vi.waitFor(
      async () => {
        const job = await stack.api<{ status: string }>(`/jobs/${ladder}`);
        if (job.body.status !== 'processing') throw new Error(`the ladder is ${job.body.status}`);
      },
      { timeout: 60_000, interval: 50 },
    );
    const cancelled = await stack.api<{ status: string }>(`/jobs/${ladder}/cancel`, { method: 'POST' });
    expect(cancelled.body.status).toBe('cancelled');
    const [done, failed, stopped] = await Promise.all([video, image, ladder].map((id) => stack.waitForJob(id)));
    expect(done!.status, JSON.stringify(done!.error)).toBe('succeeded');
    expect(done!.output).toMatchObject({ kind: 'video', format: 'mp4', width: 640, height: 360 });
    expect(await streamOf(done!, 'batch-mixed.mp4', 'video')).toMatchObject({ codec_name: 'h264', width: 640, height: 360 });
    expect(failed!.status).toBe('failed');
    expect(failed!.error?.kind).toBe('output_write_failed');
    expect(stopped).toMatchObject({ status: 'cancelled', output: null });
    expect(stack.mediaRequests(input)).toBe(1);
  });
});

describe('direct uploads through the local R2 S3 endpoint', () => {
  it('accept only the Content-Type the upload URL was signed with, and store that type', async () => {
    const created = await stack.api<{ file: { url: string }; upload_url: string }>('/uploads', {
      method: 'POST',
      json: { filename: 'photo.png', content_type: 'image/png' },
    });
    expect(created.status).toBe(201);
    const html = await fetch(created.body.upload_url, {
      method: 'PUT',
      body: '<script>alert(document.domain)</script>',
      headers: { 'content-type': 'text/html' },
    });
    expect(html.status).toBe(403);
    expect(await html.text()).toContain('SignatureDoesNotMatch');
    const png = await fetch(created.body.upload_url, {
      method: 'PUT',
      body: await readFile(fixture('photo.png')),
      headers: { 'content-type': 'image/png' },
    });
    expect(png.status).toBe(200);
    const served = await fetch(created.body.file.url);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe('image/png');
  });
});
