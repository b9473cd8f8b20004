/**
 * What kind of place an input or output names. Apart from cli/download.ts and cli/s3.ts so a local
 * run on plain files never loads their HTTP and S3 code (importing node:http alone costs a
 * noticeable part of a one-photo run's start).
 */

/** Whether `input` is an http(s) URL to download first. */
export function isUrl(input: string): boolean {
  return /^https?:\/\//i.test(input);
}

/** Whether `path` is an s3://bucket/key location. */
export function isS3Url(path: string | undefined): path is string {
  return path?.startsWith('s3://') ?? false;
}
