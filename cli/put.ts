import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { httpRequest } from '../container/net/http-request.ts';

/** How much of a refusal's body is kept: enough for an S3 error document's `<Code>`. */
const ANSWER_MAX_CHARS = 4_096;

/**
 * Streams a local file to a presigned PUT URL (an upload URL from Kiln, or a signed S3 URL): one
 * PUT with an exact Content-Length, never buffered. Returns the status and the start of the answer;
 * throws only when the server cannot be reached.
 */
export async function putFile(
  url: string,
  path: string,
  contentType: string,
  signal: AbortSignal,
): Promise<{ status: number; answer: string }> {
  const { size } = await stat(path);
  const res = await httpRequest(new URL(url), {
    method: 'PUT',
    headers: { 'content-length': size, 'content-type': contentType },
    body: createReadStream(path),
    signal,
  });
  let answer = '';
  for await (const chunk of res) if (answer.length < ANSWER_MAX_CHARS) answer += String(chunk);
  return { status: res.statusCode ?? 0, answer };
}
