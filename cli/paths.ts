/**
 * What kind of place an input or output names. Apart from cli/download.ts and cli/s3.ts so a local
 * run on plain files never loads their HTTP and S3 code (importing node:http alone costs a
 * noticeable part of a one-photo run's start).
 */
import { basename, extname, join } from 'node:path';

/** Whether `input` is an http(s) URL to download first. */
export function isUrl(input: string): boolean {
  return /^https?:\/\//i.test(input);
}

/** Whether `path` is an s3://bucket/key location. */
export function isS3Url(path: string | undefined): path is string {
  return path?.startsWith('s3://') ?? false;
}

/** `file` inside `folder`: a local folder, or an s3:// prefix (joined with exactly one slash). */
export function inFolder(folder: string, file: string): string {
  return isS3Url(folder) ? `${folder.replace(/\/?$/, '/')}${file}` : join(folder, file);
}

/** A URL path with its escapes decoded, or as it is when one is malformed (`%E0`): a file name is no reason to fail. */
function decodedPath(pathname: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return pathname;
  }
}

/** The name part of an input path or URL, without folders or extension; `output` when there is none. */
export function inputName(input: string): string {
  const path = isUrl(input) ? decodedPath(new URL(input).pathname) : input;
  const name = basename(path, extname(path)).replace(/[^\p{L}\p{N}._ -]/gu, '_');
  return name || 'output';
}
