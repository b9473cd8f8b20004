import { bodyLimit } from 'hono/body-limit';
import { KilnError } from '../../schemas/errors.ts';

function readable(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`;
}

/**
 * Refuses a request body larger than `maxBytes` with `413 payload_too_large`, counting the bytes
 * as they stream in (a missing or lying Content-Length does not help), before anything parses it.
 *
 * @example app.on('POST', '*', jsonBodyLimit(API_BODY_MAX_BYTES))
 */
export function jsonBodyLimit(maxBytes: number) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new KilnError('payload_too_large', `The request body is larger than ${readable(maxBytes)}; send a smaller JSON body.`);
    },
  });
}
