import { createServer } from 'node:net';

/**
 * Ports nothing else binds: holding one is holding an e2e slot, and the OS frees it if the holder
 * dies. E2e files share the pool with the other tiers; two whole stacks at once keep both cores
 * busy while each waits on its processor or its queue, but more would only fight over them, so
 * at most E2E_SLOT_PORTS.length run at a time and the rest take turns.
 */
const E2E_SLOT_PORTS = [8797, 8798];
const LOCK_POLL_MS = 250;

function hold(port: number): Promise<ReturnType<typeof createServer> | null> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(null));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** Waits until an e2e slot is free, then holds it until `release()`. */
export async function acquireE2eLock(): Promise<{ release(): Promise<void> }> {
  for (;;) {
    for (const port of E2E_SLOT_PORTS) {
      const server = await hold(port);
      if (server) {
        server.unref();
        return { release: () => new Promise<void>((r) => server.close(() => r())) };
      }
    }
    await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
  }
}
