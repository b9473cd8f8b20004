import { getRandom } from '@cloudflare/containers';
import type { ProcessorTask } from '../../schemas/processor.ts';
import { DISPATCH_TIMEOUT_MS } from '../constants.ts';
import type { ProcessorContainer } from './container.ts';

/** How a dispatch went, as a value the queue consumer branches on. */
export type DispatchResult =
  | { outcome: 'accepted' }
  | { outcome: 'busy'; retryAfterS: number | null; detail: string }
  | { outcome: 'rejected'; status: number; detail: string }
  | { outcome: 'unreachable'; detail: string };

/** Something that runs processor tasks: a local/self-hosted process, or a Cloudflare Container. */
export interface Processor {
  dispatch(task: ProcessorTask): Promise<DispatchResult>;
}

/** Container instances to spread tasks over; each runs container/limits.ts' concurrency. */
const CONTAINER_INSTANCES = 5;

async function readDispatchResponse(res: Response): Promise<DispatchResult> {
  const text = await res.text();
  if (res.status === 202 || res.status === 200) return { outcome: 'accepted' };
  if (res.status === 503 || res.status === 429) {
    const retryAfter = Number(res.headers.get('retry-after'));
    return { outcome: 'busy', retryAfterS: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null, detail: text };
  }
  if (res.status >= 500) return { outcome: 'unreachable', detail: `HTTP ${res.status}: ${text.slice(0, 500)}` };
  return { outcome: 'rejected', status: res.status, detail: text.slice(0, 500) };
}

type Fetcher = (url: string, init: RequestInit) => Promise<Response>;

function send(fetcher: Fetcher, base: string) {
  return async function dispatch(task: ProcessorTask): Promise<DispatchResult> {
    try {
      const res = await fetcher(new URL('/run', base).toString(), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(task),
        signal: AbortSignal.timeout(DISPATCH_TIMEOUT_MS),
      });
      return await readDispatchResponse(res);
    } catch (err) {
      return { outcome: 'unreachable', detail: err instanceof Error ? err.message : String(err) };
    }
  };
}

/** A processor reached over HTTP at PROCESSOR_URL (dev, tests, self-hosted). */
export function httpProcessor(url: string): Processor {
  return { dispatch: send((target, init) => fetch(target, init), url) };
}

/** The processor as a Cloudflare Container behind the ProcessorContainer Durable Object. */
export function containerProcessor(namespace: DurableObjectNamespace<ProcessorContainer>): Processor {
  return {
    dispatch: send(async (target, init) => (await getRandom(namespace, CONTAINER_INSTANCES)).fetch(target, init), 'http://container'),
  };
}

export function processorFor(env: Env, processorUrl: string | undefined): Processor {
  return processorUrl ? httpProcessor(processorUrl) : containerProcessor(env.PROCESSOR_CONTAINER);
}
