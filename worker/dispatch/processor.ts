import { ErrorBody } from '../../schemas/errors.ts';
import type { ProcessorGroupTask, ProcessorTask } from '../../schemas/processor.ts';
import type { KilnConfig } from '../config/index.ts';
import { DISPATCH_SCAN_BUDGET_MS, DISPATCH_TIMEOUT_MS } from '../constants.ts';
import type { ProcessorContainer } from './container.ts';

/** How a dispatch went, as a value the queue consumer branches on. */
export type DispatchResult =
  | { outcome: 'accepted' }
  | { outcome: 'busy'; retryAfterS: number | null; detail: string }
  | { outcome: 'rejected'; status: number; detail: string }
  /** The processor answered but cannot run anything (misconfigured): retrying will not help. */
  | { outcome: 'unavailable'; message: string }
  | { outcome: 'unreachable'; detail: string };

/**
 * Something that runs processor tasks: a local/self-hosted process, or a Cloudflare Container.
 * `dispatchGroup` offers tasks on one input as one run (POST /run-group): one answer for all.
 */
export interface Processor {
  dispatch(task: ProcessorTask): Promise<DispatchResult>;
  dispatchGroup(group: ProcessorGroupTask): Promise<DispatchResult>;
}

/** What the processor is asked: one task (POST /run) or a coalesced group (POST /run-group). */
type Offer = { path: '/run'; body: ProcessorTask } | { path: '/run-group'; body: ProcessorGroupTask };

/** What one POST /run or /run-group said; a refused secret is for the adapter to interpret. */
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

async function send(fetcher: Fetcher, base: string, secret: string, offer: Offer): Promise<SendResult> {
  try {
    const res = await fetcher(new URL(offer.path, base).toString(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
      body: JSON.stringify(offer.body),
      signal: AbortSignal.timeout(DISPATCH_TIMEOUT_MS),
    });
    return await readDispatchResponse(res);
  } catch (err) {
    return { outcome: 'unreachable', detail: err instanceof Error ? err.message : String(err) };
  }
}

/** A processor reached over HTTP at PROCESSOR_URL (dev, tests, self-hosted). */
export function httpProcessor(url: string, secret: string): Processor {
  async function offer(what: Offer): Promise<DispatchResult> {
    const result = await send((target, init) => fetch(target, init), url, secret, what);
    if (result.outcome !== 'unauthorized') return result;
    // Retried like an unreachable processor: during a rotation one side is updated first.
    return {
      outcome: 'unreachable',
      detail:
        "the processor at PROCESSOR_URL refused the Worker's PROCESSOR_SECRET; give the processor the same value as KILN_PROCESSOR_SECRET",
    };
  }
  return {
    dispatch: (task) => offer({ path: '/run', body: task }),
    dispatchGroup: (group) => offer({ path: '/run-group', body: group }),
  };
}

/** What the instances said to one offer, folded into the answer the queue consumer acts on. */
function fold(results: DispatchResult[]): DispatchResult {
  const busy = results.filter((r) => r.outcome === 'busy');
  if (busy.length > 0)
    return { outcome: 'busy', retryAfterS: Math.max(0, ...busy.map((r) => r.retryAfterS ?? 0)) || null, detail: busy[0]!.detail };
  return results.at(-1) ?? { outcome: 'unreachable', detail: 'no container instance could be tried' };
}

/**
 * The processor as Cloudflare Containers behind the ProcessorContainer Durable Object: instance
 * `n` is the Durable Object named `instance-n`, and a stopped instance is started by the request.
 * Instances are offered the task (or group) in turn from a random one, so load spreads, until one takes it,
 * one gives an answer that holds for all (a malformed task, a misconfiguration), every instance
 * has said no, or DISPATCH_SCAN_BUDGET_MS is spent. A container started before PROCESSOR_SECRET
 * changed refuses the task: it is stopped if idle, to restart with the new secret, and skipped.
 */
export function containerProcessor(
  namespace: DurableObjectNamespace<ProcessorContainer>,
  config: Pick<KilnConfig, 'containerInstances' | 'processorSecret'>,
): Processor {
  async function offer(what: Offer): Promise<DispatchResult> {
    const first = Math.floor(Math.random() * config.containerInstances);
    const deadline = Date.now() + DISPATCH_SCAN_BUDGET_MS;
    const results: DispatchResult[] = [];
    for (let i = 0; i < config.containerInstances && (i === 0 || Date.now() < deadline); i++) {
      const stub = namespace.get(namespace.idFromName(`instance-${(first + i) % config.containerInstances}`));
      const sent = await send((target, init) => stub.fetch(target, init), 'http://container', config.processorSecret, what);
      if (sent.outcome === 'unauthorized') {
        await stub.restartIfIdle().catch((err: unknown) => console.error('could not restart a container with an old secret', err));
        results.push({
          outcome: 'busy',
          retryAfterS: null,
          detail: 'a container with an outdated PROCESSOR_SECRET (restarted once idle)',
        });
        continue;
      }
      if (sent.outcome === 'accepted' || sent.outcome === 'rejected' || sent.outcome === 'unavailable') return sent;
      results.push(sent);
    }
    return fold(results);
  }
  return {
    dispatch: (task) => offer({ path: '/run', body: task }),
    dispatchGroup: (group) => offer({ path: '/run-group', body: group }),
  };
}

export function processorFor(env: Env, config: KilnConfig): Processor {
  return config.processorUrl
    ? httpProcessor(config.processorUrl, config.processorSecret)
    : containerProcessor(env.PROCESSOR_CONTAINER, config);
}
