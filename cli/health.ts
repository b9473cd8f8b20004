/**
 * `kiln health`: whether this machine can run jobs (ffmpeg, ffprobe and sharp each do a tiny real
 * piece of work, not only print a version) and, in remote mode, what the API's GET /health says.
 */
import { spawn } from 'node:child_process';
import { apiClient } from './api.ts';
import type { CliOutcome } from './outcome.ts';

/** Each check gets this long; a first ffmpeg start on a loaded machine can take a few seconds. */
export const HEALTH_CHECK_TIMEOUT_MS = 15_000;

interface Check {
  ok: boolean;
  version: string | null;
  /** Why the check failed, in words a user can act on. */
  message?: string;
}

function run(argv: string[]): Promise<{ code: number | null; out: string; err: string; spawnError?: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], timeout: HEALTH_CHECK_TIMEOUT_MS });
    let out = '';
    let err = '';
    let spawnError: string | undefined;
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => (spawnError = e.message));
    child.on('close', (code) => resolve({ code, out, err, ...(spawnError ? { spawnError } : {}) }));
  });
}

async function binary(name: 'ffmpeg' | 'ffprobe', work: string[]): Promise<Check> {
  const version = await run([name, '-hide_banner', '-version']);
  if (version.spawnError || version.code !== 0) {
    return {
      ok: false,
      version: null,
      message: `${name} is not on PATH or does not start (${version.spawnError ?? `exit ${version.code}`}); install FFmpeg.`,
    };
  }
  const found = new RegExp(`${name} version (\\S+)`).exec(version.out)?.[1] ?? 'unknown';
  const worked = await run([name, ...work]);
  if (worked.code !== 0) {
    const last = worked.err.trim().split('\n').at(-1) ?? `exit ${worked.code}`;
    return { ok: false, version: found, message: `${name} starts but failed a 16×16 test: ${last}` };
  }
  return { ok: true, version: found };
}

async function sharpCheck(): Promise<Check> {
  let sharp: typeof import('sharp')['default'];
  try {
    sharp = (await import('sharp')).default;
  } catch (err) {
    return { ok: false, version: null, message: `sharp does not load: ${(err as Error).message}; run npm install again.` };
  }
  try {
    const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#336699' } })
      .png()
      .toBuffer();
    await sharp(png).webp().toBuffer();
    return { ok: true, version: `${sharp.versions.sharp} (libvips ${sharp.versions.vips})` };
  } catch (err) {
    return { ok: false, version: sharp.versions.sharp, message: `sharp failed a 16×16 PNG → WebP test: ${(err as Error).message}` };
  }
}

/**
 * Checks this machine and, with `api.url`, the API.
 *
 * @example
 * const outcome = await runHealth({}, new AbortController().signal); // local only
 */
export async function runHealth(api: { url?: string; key?: string }, signal: AbortSignal): Promise<CliOutcome> {
  // biome-ignore format: ffmpeg arguments read as flag/value pairs
  const [ffmpeg, ffprobe, sharpResult] = await Promise.all([
    binary('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=black:s=16x16:d=0.1', '-f', 'null', '-']),
    binary('ffprobe', ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=black:s=16x16:d=0.1', '-show_format']),
    sharpCheck(),
  ]);
  const report: Record<string, unknown> = { ffmpeg, ffprobe, sharp: sharpResult };
  const lines = Object.entries({ ffmpeg, ffprobe, sharp: sharpResult }).map(
    ([name, c]) => `${name.padEnd(8)} ${c.ok ? 'ok     ' : 'FAILED '} ${c.version ?? '-'}${c.message ? `  ${c.message}` : ''}`,
  );
  let ok = ffmpeg.ok && ffprobe.ok && sharpResult.ok;
  if (api.url) {
    const res = await apiClient(api.url, api.key ?? '', signal).call<Record<string, unknown>>('GET', '/health');
    const apiOk = res.ok && res.body.status === 'ok';
    const apiReport = res.ok ? { ok: apiOk, url: api.url, health: res.body } : { ok: false, url: api.url, error: res.error };
    report.api = apiReport;
    lines.push(
      `api      ${apiOk ? 'ok     ' : 'FAILED '} ${api.url}${res.ok ? `  status ${String(res.body.status)}` : `  ${res.error.kind}: ${res.error.message}`}`,
    );
    ok &&= apiOk;
  }
  return { ok: true, json: { status: ok ? 'ok' : 'failed', ...report }, lines, notes: [], exitCode: ok ? 0 : 1 };
}
