import { AwsClient } from 'aws4fetch';

export interface S3Location {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  key: string;
  /** A temporary credential's token (AWS_SESSION_TOKEN); signed into the URL. */
  sessionToken?: string;
  /** `bucket.host/key` instead of path-style `host/bucket/key`: what AWS S3 itself expects. */
  virtualHost?: boolean;
}

/**
 * A SigV4 query-signed URL (path-style) for one object: what the processor gets instead of
 * credentials. Works for R2, wrangler's local R2 S3 endpoint and any S3-compatible server.
 * A PUT's `contentType` is signed: storage refuses the PUT (403 SignatureDoesNotMatch) unless it
 * carries exactly that Content-Type, so an object is stored with the type Kiln agreed to, never
 * one the uploader picks afterwards (text/html on the public bucket domain). Null leaves it
 * unsigned, for the one output whose type is unknown until the run (an image keeping its input's format).
 *
 * @example await presign({ ...location, method: 'PUT', contentType: 'video/mp4', expiresS: 3600 })
 */
export async function presign(
  loc: S3Location & ({ method: 'GET' | 'HEAD' } | { method: 'PUT'; contentType: string | null }) & { expiresS: number },
): Promise<string> {
  const client = new AwsClient({
    accessKeyId: loc.accessKeyId,
    secretAccessKey: loc.secretAccessKey,
    service: 's3',
    region: loc.region,
    ...(loc.sessionToken ? { sessionToken: loc.sessionToken } : {}),
  });
  const path = loc.key.split('/').map(encodeURIComponent).join('/');
  const endpoint = new URL(loc.endpoint);
  const url = loc.virtualHost
    ? new URL(`${endpoint.protocol}//${loc.bucket}.${endpoint.host}/${path}`)
    : new URL(`${loc.endpoint.replace(/\/$/, '')}/${encodeURIComponent(loc.bucket)}/${path}`);
  url.searchParams.set('X-Amz-Expires', String(loc.expiresS));
  const headers = loc.method === 'PUT' && loc.contentType ? { 'content-type': loc.contentType } : undefined;
  // allHeaders: aws4fetch otherwise leaves Content-Type out of the signature.
  const signed = await client.sign(url.toString(), { method: loc.method, headers, aws: { signQuery: true, allHeaders: true } });
  return signed.url;
}
