import { AwsClient } from 'aws4fetch';

export interface S3Location {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  key: string;
}

/**
 * A SigV4 query-signed URL (path-style) for one object: what the processor gets instead of
 * credentials. Works for R2, wrangler's local R2 S3 endpoint and any S3-compatible server.
 *
 * @example await presign({ ...location, method: 'PUT', expiresS: 3600 })
 */
export async function presign(loc: S3Location & { method: 'GET' | 'PUT' | 'HEAD'; expiresS: number }): Promise<string> {
  const client = new AwsClient({
    accessKeyId: loc.accessKeyId,
    secretAccessKey: loc.secretAccessKey,
    service: 's3',
    region: loc.region,
  });
  const path = loc.key.split('/').map(encodeURIComponent).join('/');
  const url = new URL(`${loc.endpoint.replace(/\/$/, '')}/${encodeURIComponent(loc.bucket)}/${path}`);
  url.searchParams.set('X-Amz-Expires', String(loc.expiresS));
  const signed = await client.sign(url.toString(), { method: loc.method, aws: { signQuery: true, allHeaders: false } });
  return signed.url;
}
