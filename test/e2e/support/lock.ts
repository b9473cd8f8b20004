import { createServer } from 'node:net';

/**
 * A port nothing else binds: holding it is holding the e2e lock, and the OS frees it if the
 * holder dies. E2e files share the pool with the other tiers, but two whole stacks at once
 * would fight over two cores (and over wrangler.e2e.generated.toml), so they take turns.
 */
const E2E_LOCK_PORT = 8797;
const LOCK_POLL_MS = 250;

/** Waits until no other e2e file holds the lock, then holds it until `release()`. */
export async function acquireE2eLock(): Promise<{ release(): Promise<void> }> {
  for (;;) {
    const server = createServer();
    const held = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(E2E_LOCK_PORT, '127.0.0.1', () => resolve(true));
    });
    if (held) {
      server.unref();
      return { release: () => new Promise<void>((r) => server.close(() => r())) };
    }
    await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
  }
}
