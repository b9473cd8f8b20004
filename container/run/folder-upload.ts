import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type ErrorBody, runNotWantedError } from '../../schemas/errors.ts';
import { folderFileTypeOf } from '../../schemas/formats.ts';
import { OutputFilesResponse } from '../../schemas/processor.ts';
import { uploadFile } from '../net/transfer.ts';
import { CALLBACK_TIMEOUT_MS } from './reporter.ts';

/** Segments uploaded at once: enough to hide per-request latency, few enough not to flood storage. */
export const FOLDER_UPLOAD_CONCURRENCY = 4;

/**
 * Uploads every file under `dir` (an HLS ladder): asks the Worker for one presigned PUT per file
 * at `filesUrl`, then streams them, a few at a time.
 */
export async function uploadFolder(opts: {
  dir: string;
  filesUrl: string;
  token: string;
  attempt: number;
  allowLoopback: boolean;
  signal: AbortSignal;
  fetcher?: typeof fetch;
}): Promise<{ ok: true } | { ok: false; error: ErrorBody }> {
  const entries = await readdir(opts.dir, { recursive: true, withFileTypes: true });
  const names = entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(opts.dir.length + 1))
    .sort();
  const res = await (opts.fetcher ?? fetch)(opts.filesUrl, {
    method: 'POST',
    headers: { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ attempt: opts.attempt, names }),
    signal: AbortSignal.any([opts.signal, AbortSignal.timeout(CALLBACK_TIMEOUT_MS)]),
  });
  if (res.status === 409) return { ok: false, error: runNotWantedError() };
  const parsed = OutputFilesResponse.safeParse(await res.json().catch(() => null));
  if (!res.ok || !parsed.success) {
    return {
      ok: false,
      error: { kind: 'output_write_failed', message: `Kiln could not sign the output files (HTTP ${res.status}); retry the job.` },
    };
  }
  const { urls } = parsed.data;
  const queue = [...names];
  let failure: ErrorBody | null = null;
  await Promise.all(
    Array.from({ length: FOLDER_UPLOAD_CONCURRENCY }, async () => {
      for (let name = queue.shift(); name !== undefined && !failure; name = queue.shift()) {
        const url = urls[name];
        if (!url) {
          failure = { kind: 'output_write_failed', message: `No upload URL was issued for ${name}; retry the job.` };
          break;
        }
        const result = await uploadFile({
          path: join(opts.dir, name),
          url,
          contentType: folderFileTypeOf(name),
          allowLoopback: opts.allowLoopback,
          signal: opts.signal,
        });
        if (!result.ok) failure = result.error;
      }
    }),
  );
  return failure ? { ok: false, error: failure } : { ok: true };
}
