import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ffmpegErrorBody, ffprobeJson, parseTimemark, runFfmpeg, runFfmpegPasses } from '../../../container/ffmpeg/index.ts';
import { cleanupWorkDirs, workDir } from '../../support/inspect.ts';
import { fixture } from '../../support/media.ts';

afterAll(cleanupWorkDirs);

describe('runFfmpeg', () => {
  test('encodes and reports progress that rises to 100', async () => {
    const dir = await workDir();
    const seen: number[] = [];
    const result = await runFfmpeg({
      inputs: [{ path: fixture('clip.mp4') }],
      output: join(dir, 'out.mp4'),
      outputOptions: ['-c:v', 'libx264', '-preset', 'ultrafast', '-an', '-f', 'mp4'],
      expectedS: 2,
      timeoutMs: 60_000,
      onProgress: (p) => seen.push(p),
    });
    expect(result.ok).toBe(true);
    expect(seen.at(-1)).toBe(100);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  });

  test('passes an option value that holds one space as one argument (a -var_stream_map of two renditions)', async () => {
    const dir = await workDir();
    const output = join(dir, 'titled.mp4');
    const result = await runFfmpeg({
      inputs: [{ path: fixture('clip.mp4') }],
      output,
      outputOptions: ['-c', 'copy', '-metadata', 'title=two words', '-f', 'mp4'],
      timeoutMs: 60_000,
    });
    expect(result.ok).toBe(true);
    const probe = await ffprobeJson(output);
    expect(probe.ok && probe.data.format?.tags?.title).toBe('two words');
  });

  test('returns the exit code, the stderr tail and the argv when ffmpeg fails', async () => {
    const dir = await workDir();
    const result = await runFfmpeg({
      inputs: [{ path: fixture('text.mp4') }],
      output: join(dir, 'out.mp4'),
      outputOptions: ['-f', 'mp4'],
      timeoutMs: 60_000,
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.reason).toBe('exit');
    expect(result.error.exitCode).not.toBe(0);
    expect(result.error.stderrTail.join('\n')).toMatch(/Invalid data found/);
    expect(result.error.argv[0]).toBe('ffmpeg');
    expect(result.error.argv).toContain(fixture('text.mp4'));
    expect(result.error.stack).toMatch(/index\.test\.ts/);
    expect(ffmpegErrorBody(result.error).kind).toBe('input_not_media');
  });

  test('kills a run that exceeds its time limit and reports a timeout', async () => {
    const dir = await workDir();
    const result = await runFfmpeg({
      inputs: [{ path: 'testsrc2=size=320x240:rate=30', options: ['-f', 'lavfi', '-re'] }],
      output: join(dir, 'never.mp4'),
      outputOptions: ['-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'mp4'],
      timeoutMs: 300,
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.reason).toBe('timeout');
    expect(ffmpegErrorBody(result.error).kind).toBe('timeout');
  });

  test('kills the run when the abort signal fires and reports cancellation', async () => {
    const dir = await workDir();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const result = await runFfmpeg({
      inputs: [{ path: 'testsrc2=size=320x240:rate=30', options: ['-f', 'lavfi', '-re'] }],
      output: join(dir, 'never.mp4'),
      outputOptions: ['-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'mp4'],
      timeoutMs: 60_000,
      signal: controller.signal,
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.reason).toBe('aborted');
    expect(ffmpegErrorBody(result.error)).toEqual({ kind: 'cancelled', message: 'The job was cancelled.' });
  });

  test('does not start at all when the signal is already aborted', async () => {
    const result = await runFfmpeg({
      inputs: [{ path: fixture('clip.mp4') }],
      output: join(await workDir(), 'out.mp4'),
      outputOptions: ['-f', 'mp4'],
      timeoutMs: 60_000,
      signal: AbortSignal.abort(),
    });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.reason).toBe('aborted');
  });
});

describe('output byte limit', () => {
  test('kills a run whose output keeps growing past its limit and names KILN_MAX_OUTPUT_BYTES', async () => {
    const dir = await workDir();
    const maxBytes = 1_000_000;
    // An endless tone written as raw PCM: without the limit only the time limit would stop it.
    const result = await runFfmpeg({
      inputs: [{ path: 'sine=frequency=440:sample_rate=48000', options: ['-f', 'lavfi'] }],
      output: join(dir, 'endless.wav'),
      outputOptions: ['-c:a', 'pcm_s16le', '-f', 'wav'],
      timeoutMs: 20_000,
      outputLimit: { dir, maxBytes },
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.reason).toBe('output_limit');
    expect((await stat(join(dir, 'endless.wav'))).size).toBeGreaterThan(maxBytes);
    expect(ffmpegErrorBody(result.error)).toEqual({
      kind: 'invalid_input',
      message:
        'The output grew past 1000000 bytes and was stopped, over the limit of KILN_MAX_OUTPUT_BYTES = 1000000; ask for a shorter clip (start/end), a smaller size or a lower quality, or raise KILN_MAX_OUTPUT_BYTES on the processor.',
    });
  });
});

describe('runFfmpegPasses', () => {
  const pass = (dir: string, name: string, weight: number) => ({
    inputs: [{ path: fixture('clip.mp4') }],
    output: join(dir, name),
    outputOptions: ['-c:v', 'libx264', '-preset', 'ultrafast', '-an', '-f', 'mp4'],
    expectedS: 2,
    weight,
  });

  test('fills the progress bar once across passes, each pass by its weight', async () => {
    const dir = await workDir();
    const seen: number[] = [];
    const result = await runFfmpegPasses([pass(dir, 'a.mp4', 1), pass(dir, 'b.mp4', 3)], {
      timeoutMs: 60_000,
      onProgress: (p) => seen.push(p),
    });
    expect(result.ok).toBe(true);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(seen).toContain(25);
    expect(seen.filter((p) => p === 100)).toHaveLength(1);
    expect(seen.at(-1)).toBe(100);
  });

  test('builds a later pass from what an earlier pass printed on stderr', async () => {
    const dir = await workDir();
    let durationLine = '';
    const result = await runFfmpegPasses(
      [
        {
          ...pass(dir, 'a.mp4', 1),
          onStderr: (line: string) => {
            if (/Duration: /.test(line)) durationLine = line;
          },
        },
        {
          weight: 1,
          build: () => ({ ...pass(dir, 'b.mp4', 1), outputOptions: ['-t', durationLine ? '1' : '2', '-c', 'copy', '-f', 'mp4'] }),
        },
      ],
      { timeoutMs: 60_000 },
    );
    expect(result.ok).toBe(true);
    const probe = await ffprobeJson(join(dir, 'b.mp4'));
    expect(probe.ok && Number(probe.data.format?.duration)).toBeCloseTo(1, 0);
  });

  test('stops at the first failing pass', async () => {
    const dir = await workDir();
    const broken = { ...pass(dir, 'a.mp4', 1), inputs: [{ path: fixture('text.mp4') }] };
    const result = await runFfmpegPasses([broken, pass(dir, 'b.mp4', 1)], { timeoutMs: 60_000 });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.argv).toContain(fixture('text.mp4'));
    await expect(stat(join(dir, 'b.mp4'))).rejects.toThrow(/ENOENT/);
  });

  test('kills the second pass when the job is cancelled', async () => {
    const dir = await workDir();
    const controller = new AbortController();
    const endless = {
      inputs: [{ path: 'testsrc2=size=320x240:rate=30', options: ['-f', 'lavfi', '-re'] }],
      output: join(dir, 'never.mp4'),
      outputOptions: ['-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'mp4'],
      weight: 1,
    };
    const result = await runFfmpegPasses([pass(dir, 'a.mp4', 1), endless], {
      timeoutMs: 60_000,
      signal: controller.signal,
      onProgress: (p) => {
        if (p >= 50) setTimeout(() => controller.abort(), 200);
      },
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.reason).toBe('aborted');
    expect(result.error.argv.join(' ')).toContain('testsrc2');
  });
});

describe('ffprobeJson', () => {
  test('returns streams and format for a media file', async () => {
    const result = await ffprobeJson(fixture('clip.mp4'));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.data.streams?.map((s) => s.codec_type)).toEqual(['video', 'audio']);
  });

  test('returns an error value for a file that is not media', async () => {
    const result = await ffprobeJson(fixture('text.mp4'));
    expect(result.ok).toBe(false);
  });
});

describe('inputs are local files only', () => {
  /** A server that would hand out a real video, counting who asks. */
  async function mediaServer(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
    const body = await readFile(fixture('clip.mp4'));
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': body.length }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/clip.mp4`,
      requests: () => requests,
      close: () => new Promise((r) => server.close(() => r())),
    };
  }

  test('ffmpeg refuses to open a URL as an input, so nothing an input says can reach the network', async () => {
    const server = await mediaServer();
    const result = await runFfmpeg({
      inputs: [{ path: server.url }],
      output: join(await workDir(), 'out.mp4'),
      outputOptions: ['-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'mp4'],
      timeoutMs: 60_000,
    });
    await server.close();
    expect(server.requests()).toBe(0);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.stderrTail.join('\n')).toMatch(/Protocol 'http' not on whitelist 'file'/);
  });

  test('ffprobe refuses to open a URL too', async () => {
    const server = await mediaServer();
    const result = await ffprobeJson(server.url);
    await server.close();
    expect(server.requests()).toBe(0);
    expect(!result.ok && result.error.stderrTail.join('\n')).toMatch(/Protocol 'http' not on whitelist 'file'/);
  });

  test('ffprobe names the format it refused when the file is not on the allowed list', async () => {
    const result = await ffprobeJson(fixture('odd.mkv'), { formats: ['mov', 'mp3'] });
    expect(result.ok).toBe(false);
    expect(!result.ok && [result.error.reason, result.error.refusedFormat]).toEqual(['refused', 'matroska,webm']);
  });
});

describe('progress helpers', () => {
  test('reads the time= field of ffmpeg progress lines', () => {
    expect(parseTimemark('frame=  10 fps=0.0 q=0.0 size=0kB time=00:01:02.50 bitrate=N/A')).toBe(62.5);
    expect(parseTimemark('time=-00:00:00.02')).toBe(0);
    expect(parseTimemark('Stream mapping:')).toBeNull();
  });
});
