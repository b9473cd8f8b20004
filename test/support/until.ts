/**
 * Polls `check` until it gives a value, which it returns; after `timeoutMs` it throws, naming
 * `what` and adding `output()` (a process's log, say) to the message.
 *
 * @example await until('ffmpeg to start', () => ffmpegChildren(pid)[0], 30_000);
 */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
  output?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${output ? `\n${output()}` : ''}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** How often `until` looks again: quick enough that waits end soon after the state is reached. */
const POLL_MS = 50;
