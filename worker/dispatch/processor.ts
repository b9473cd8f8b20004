import { ErrorBody } from '../../schemas/errors.ts';
import type { ProcessorTask } from '../../schemas/processor.ts';
import type { KilnConfig } from '../config/index.ts';
import { DISPATCH_TIMEOUT_MS } from '../constants.ts';
import type { ProcessorContainer } from './container.ts';

/** How a dispatch went, as a value the queue consumer branches on. */
export type DispatchResult =
  | { outcome: 'accepted' }
  | { outcome: 'busy'; retryAfterS: number | null; detail: string }
  | { outcome: 'rejected'; status: number; detail: string }
  /** The processor answered but cannot run anything (misconfigured): retrying will not help. */
  | { outcome: 'unavailable'; message: string }
  | { outcome: 'unreachable'; detail: string };

/** Something that runs processor tasks: a local/self-hosted process, or a Cloudflare Container. */
export interface Processor {
  dispatch(task: ProcessorTask): Promise<DispatchResult>;
}

/** What one POST /run said; a refused secret is for the adapter to interpret. */
type SendResult = DispatchResult | { outcome: 'unauthorized' };

async function readDispatchResponse(res: Response): Promise<SendResult> {
  const text = await res.text();
  if (res.status === 202 || res.status === 200) return { outcome: 'accepted' };
  if (res.status === 401) return { outcome: 'unauthorized' };
  if (res.status === 503 || res.status === 429) {
    const retryAfter = Number(res.headers.get('retry-after'));
    return { outcome: 'busy', retryAfterS: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null, detail: text };
  }
  const error = ErrorBody.safeParse(safeJson(text));
  if (error.success && error.data.kind === 'processor_unavailable') return { outcome: 'unavailable', message: error.data.message };
  if (res.status >= 500) return { outcome: 'unreachable', detail: `HTTP ${res.status}: ${text.slice(0, 500)}` };
  return { outcome: 'rejected', status: res.status, detail: text.slice(0, 500) };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

type Fetcher = (url: string, init: RequestInit) => Promise<Response>;

async function send(fetcher: Fetcher, base: string, secret: string, task: ProcessorTask): Promise<SendResult> {
  try {
    const res = await fetcher(new URL('/run', base).toString(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
      body: JSON.stringify(task),
      signal: AbortSignal.timeout(DISPATCH_TIMEOUT_MS),
    });
    return await readDispatchResponse(res);
  } catch (err) {
    return { outcome: 'unreachable', detail: err instanceof Error ? err.message : String(err) };
  }
}

/** A processor reached over HTTP at PROCESSOR_URL (dev, tests, self-hosted). */
export function httpProcessor(url: string, secret: string): Processor {
  return {
    async dispatch(task) {
      const result = await send((target, init) => fetch(target, init), url, secret, task);
      if (result.outcome !== 'unauthorized') return result;
      return {
        outcome: 'unavailable',
        message: `The processor at PROCESSOR_URL refused the Worker's PROCESSOR_SECRET: give the processor the same value as KILN_PROCESSOR_SECRET.`,
      };
    },
  };
}

/**
 * The processor as Cloudflare Containers behind the ProcessorContainer Durable Object: instance
 * `n` is the Durable Object named `instance-n`. A busy instance hands the task to the next one,
 * starting from a random instance so load spreads, until every instance has said no; a stopped
 * instance is started by the request. A container refuses the secret only when it was started
 * before PROCESSOR_SECRET changed: it is restarted, and the task offered again later.
 */
export function containerProcessor(
  namespace: DurableObjectNamespace<ProcessorContainer>,
  config: Pick<KilnConfig, 'containerInstances' | 'processorSecret'>,
): Processor {
  return {
    async dispatch(task) {
      const first = Math.floor(Math.random() * config.containerInstances);
      let result: DispatchResult = { outcome: 'unreachable', detail: 'no container instance was tried' };
      for (let i = 0; i < config.containerInstances; i++) {
        const stub = namespace.get(namespace.idFromName(`instance-${(first + i) % config.containerInstances}`));
        const sent = await send((target, init) => stub.fetch(target, init), 'http://container', config.processorSecret, task);
        if (sent.outcome === 'unauthorized') {
          await stub.destroy();
          return { outcome: 'unreachable', detail: 'the container had an outdated PROCESSOR_SECRET and was restarted' };
        }
        result = sent;
        if (result.outcome !== 'busy') return result;
      }
      return result;
    },
  };
}

export function processorFor(env: Env, config: KilnConfig): Processor {
  return config.processorUrl ? httpProcessor(config.processorUrl, config.processorSecret) : containerProcessor(env.PROCESSOR_CONTAINER, config);
}
