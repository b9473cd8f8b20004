/**
 * What a CLI command hands back to print, and the small helpers every mode shares. Kept apart from
 * cli/local.ts so that remote commands and `kiln health` load neither the engine nor sharp.
 */
import type { CliError } from '../schemas/errors.ts';
import type { MediaInfo } from '../schemas/file.ts';

/**
 * What a command printed: `json` (an array prints one line per item) or text `lines`; `exitCode`
 * when a report is not all good. A failure names the job or task it happened to, once there is
 * one, so the user can look it up.
 */
export type CliOutcome =
  | { ok: true; json: unknown; lines: string[]; notes: string[]; exitCode?: number }
  | { ok: false; error: CliError; failed?: { object: 'job' | 'task'; id: string } };

/**
 * A local input that is not there, in the same words locally and remotely (exit 2: the command
 * line named it). Locally, ffprobe would otherwise call it unreadable media.
 */
export const noSuchFile = (path: string): CliError => ({ kind: 'invalid_input', message: `No such file: ${path}` });

/** Why a request threw, in words: fetch says only "fetch failed" and names the cause (ECONNREFUSED, ENOTFOUND…) in `cause`. */
export function failureReason(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
}

function size(bytes: number): string {
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${bytes} B`;
}

/** One-line human summary of a file. */
export function describe(info: MediaInfo): string {
  const parts: string[] = [info.kind, info.format];
  if (info.width && info.height) parts.push(`${info.width}×${info.height}`);
  if (info.duration) parts.push(`${info.duration.toFixed(1)} s`);
  const codecs = [info.codecs.video, info.codecs.audio].filter(Boolean).join('+');
  if (codecs) parts.push(codecs);
  parts.push(size(info.filesize));
  return parts.join(', ');
}

/** `kiln task <kind> -i '<json>'`: the JSON object and its `url`, or an error naming what is wrong. */
export function taskInput(
  raw: string | undefined,
): { ok: true; input: Record<string, unknown>; url: string } | { ok: false; error: CliError } {
  const example = `-i '{"url":"https://example.com/clip.mov"}'`;
  if (raw === undefined)
    return { ok: false, error: { kind: 'invalid_input', message: `Missing -i: kiln task takes a JSON object, e.g. ${example}` } };
  let input: unknown;
  try {
    input = JSON.parse(raw);
  } catch {
    input = undefined;
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return {
      ok: false,
      error: {
        kind: 'invalid_input',
        message: `Expected -i to be a JSON object such as ${example} but received ${JSON.stringify(raw.slice(0, 80))}`,
      },
    };
  }
  const url = (input as Record<string, unknown>).url;
  if (typeof url !== 'string' || url === '') {
    return {
      ok: false,
      error: {
        kind: 'invalid_input',
        message: `Expected -i.url to be the file's URL or path (a string); a probe's "output" object has it`,
      },
    };
  }
  return { ok: true, input: input as Record<string, unknown>, url };
}
