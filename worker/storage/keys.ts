import { newId } from '../utils/ids.ts';

/**
 * Object keys in Kiln's bucket. Kiln chooses every key: user-supplied names never form a path
 * (docs/api.md#limits-and-security). A key's file id carries 80 random bits, so file URLs are unguessable.
 */
export function outputKey(jobId: string, extension: string | null): { key: string; fileId: string } {
  const fileId = newId('file');
  return { key: `outputs/${jobId}/${fileId}${extension ? `.${extension}` : ''}`, fileId };
}

/** A folder for multi-file outputs (an HLS ladder); the files' names come from the processor. */
export function outputPrefix(jobId: string): string {
  return `outputs/${jobId}/${newId('file')}/`;
}

/** The file id inside a Kiln output key, e.g. `outputs/job_…/file_….mp4` → `file_…`. */
export function fileIdOfKey(key: string): string | null {
  return /\/(file_[0-9a-z]+)(?:[./]|$)/.exec(key)?.[1] ?? null;
}

export function uploadKey(fileId: string): string {
  return `uploads/${fileId}`;
}

/** The public URL of a stored object: the configured bucket domain, or GET /files/… on this Worker. */
export function fileUrl(key: string, opts: { origin: string; publicBase: string | undefined }): string {
  const base = opts.publicBase ? opts.publicBase.replace(/\/$/, '') : `${opts.origin}/files`;
  return `${base}/${key}`;
}

/**
 * The shapes of every key Kiln writes: an upload, a single output, or a file inside an output
 * folder. Anything else (`..`, `//`, another prefix) is not a Kiln file, whatever its URL says.
 */
const KILN_KEY = /^(uploads\/file_[0-9a-z]+|outputs\/job_[0-9a-z]+\/file_[0-9a-z]+(\.[a-z0-9]+|(\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)+)?)$/;

/** What a URL is to Kiln: not one of its file URLs, one that names no Kiln key, or a file's key. */
export type KilnFileUrl = { type: 'other' } | { type: 'invalid' } | { type: 'key'; key: string };

/**
 * Reads a URL this Kiln may have returned (GET /files/… or the public bucket domain). A URL under
 * those bases whose path is not a Kiln key (crafted to climb out with `..`, say) is `invalid`.
 */
export function parseFileUrl(url: string, opts: { origin: string; publicBase: string | undefined }): KilnFileUrl {
  for (const base of [opts.publicBase, `${opts.origin}/files`]) {
    if (!base) continue;
    const prefix = `${base.replace(/\/$/, '')}/`;
    if (!url.startsWith(prefix)) continue;
    let key: string;
    try {
      key = decodeURIComponent(url.slice(prefix.length).split(/[?#]/)[0] ?? '');
    } catch {
      return { type: 'invalid' };
    }
    const climbs = key.split('/').some((segment) => segment === '.' || segment === '..');
    return KILN_KEY.test(key) && !climbs ? { type: 'key', key } : { type: 'invalid' };
  }
  return { type: 'other' };
}
