import type { FileObject, MediaInfo } from '../../schemas/file.ts';
import { folderFileTypeOf } from '../../schemas/formats.ts';
import { PRESIGNED_URL_TTL_S } from '../../schemas/processor.ts';
import type { InputSource, OutputTarget, StoredJob } from '../job-object/state.ts';
import { newId } from '../utils/ids.ts';
import { fileIdOfKey, fileUrl } from './keys.ts';
import { presign, type S3Location } from './presign.ts';

/** The key of an output's file: the output itself, or the file `name` inside a folder output. */
type WrittenTarget = Exclude<OutputTarget, { type: 'none' }>;

export function outputFileKey(target: WrittenTarget, name: string | undefined): string {
  return target.type === 'folder' ? `${target.location.key}${name ?? ''}` : target.location.key;
}

/**
 * A finished output as the File the API returns: a Kiln file keeps the id in its key and gets a
 * URL under `origin` (or the public bucket domain); an S3 output is named by its s3:// URL.
 * For a folder output (HLS) `name` is its main file.
 *
 * @example outputFile({ target, origin: 'https://kiln.example', publicBase: undefined, info, name: 'master.m3u8' })
 */
export function outputFile(opts: {
  target: WrittenTarget;
  origin: string;
  publicBase: string | undefined;
  info: MediaInfo;
  name: string | undefined;
}): FileObject {
  const { location } = opts.target;
  const key = outputFileKey(opts.target, opts.name);
  const url =
    location.type === 's3' ? `s3://${location.bucket}/${key}` : fileUrl(key, { origin: opts.origin, publicBase: opts.publicBase });
  const id = (location.type === 'kiln' && fileIdOfKey(key)) || newId('file');
  return { object: 'file', id, url, ...opts.info };
}

/**
 * The job's input as a File, once probed: named by the URL the user gave (what a probe task
 * returns), with the upload's id when it is a Kiln upload.
 */
export function inputFile(opts: { job: Pick<StoredJob, 'input'>; source: InputSource; info: MediaInfo }): FileObject {
  const id = (opts.source.type === 'kiln' && fileIdOfKey(opts.source.key)) || newId('file');
  return { object: 'file', id, url: opts.job.input, ...opts.info };
}

/** One presigned PUT per named file of a folder output, each inside the folder's prefix and signed with the type the processor sends. */
export async function presignFolderFiles(prefix: S3Location, names: string[]): Promise<Record<string, string>> {
  const urls: Record<string, string> = {};
  for (const name of names) {
    urls[name] = await presign({
      ...prefix,
      key: `${prefix.key}${name}`,
      method: 'PUT',
      contentType: folderFileTypeOf(name),
      expiresS: PRESIGNED_URL_TTL_S,
    });
  }
  return urls;
}
