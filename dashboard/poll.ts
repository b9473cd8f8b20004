import { useEffect, useRef } from 'preact/hooks';
import { POLL_MAX_MS, POLL_MIN_MS } from './constants.ts';

/**
 * Calls `load` now, then again after POLL_MIN_MS, doubling the wait up to POLL_MAX_MS each time
 * `load` reports no change and going back to the shortest wait when something changed. Polling,
 * not server-sent events: GET /jobs and GET /jobs/{id} are cheap Durable Object reads that work
 * through any proxy, while a stream per open tab would hold a Worker request open for minutes.
 * A hidden tab does not poll; it loads once when shown again. `load` returns false to stop (the
 * job finished).
 *
 * @example
 * usePolling(async () => { const changed = await refresh(); return changed ? 'changed' : 'same'; }, [filters]);
 */
export function usePolling(load: () => Promise<'changed' | 'same' | 'stop'>, deps: unknown[]): void {
  const latest = useRef(load);
  latest.current = load;
  useEffect(() => {
    let wait = POLL_MIN_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    let loading = false;
    async function tick() {
      timer = undefined;
      if (stopped || loading || document.hidden) return;
      let outcome: 'changed' | 'same' | 'stop';
      loading = true;
      try {
        outcome = await latest.current();
      } catch {
        outcome = 'same';
      } finally {
        loading = false;
      }
      if (stopped || outcome === 'stop') return;
      wait = outcome === 'changed' ? POLL_MIN_MS : Math.min(wait * 2, POLL_MAX_MS);
      timer = setTimeout(tick, wait);
    }
    function onVisible() {
      if (!document.hidden && timer === undefined) {
        wait = POLL_MIN_MS;
        void tick();
      }
    }
    document.addEventListener('visibilitychange', onVisible);
    void tick();
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, deps);
}
