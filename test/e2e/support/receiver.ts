import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  headers: Record<string, string>;
  body: string;
  at: number;
  /** The status answered, or null when the connection was dropped without an answer. */
  status: number | null;
}

/**
 * A webhook receiver on loopback, like a user's app: records every POST and answers with the
 * status of the moment (`setStatus`), drops the connection unanswered while `dropConnections(true)`,
 * or refuses connections altogether between `down()` and `up()`.
 */
export async function startReceiver() {
  const received: ReceivedWebhook[] = [];
  let status = 200;
  let dropping = false;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
        body,
        at: Date.now(),
        status: dropping ? null : status,
      });
      if (dropping) req.socket.destroy();
      else res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path = '/hooks/kiln') => `http://127.0.0.1:${port}${path}`,
    received,
    setStatus(next: number) {
      status = next;
    },
    dropConnections(on: boolean) {
      dropping = on;
    },
    /** Stops listening (and cuts kept-alive connections), so deliveries are refused like a receiver that is down. */
    down: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
    /** Listens again on the same port. */
    up: () => new Promise<void>((r) => server.listen(port, '127.0.0.1', r)),
    close: () =>
      new Promise<void>((r) => {
        if (!server.listening) return r();
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
