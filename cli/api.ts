/** A small client for Kiln's HTTP API, used by the CLI's remote mode. */
import { type CliError, interruptedError } from '../schemas/errors.ts';
import { failureReason } from './outcome.ts';

/** Each API call gets this long; large bodies never go through it (uploads use presigned PUTs). */
export const API_TIMEOUT_MS = 30_000;

export type ApiResult<T> = { ok: true; status: number; body: T; headers: Headers } | { ok: false; error: CliError };

export interface ApiClient {
  baseUrl: string;
  call<T>(method: string, path: string, json?: unknown): Promise<ApiResult<T>>;
}

/** The API at `base` did not answer: named with the URL, the reason and the two usual fixes. */
function apiUnreachable(base: string, err: unknown): CliError {
  return {
    kind: 'api_unreachable',
    message: `Could not reach the Kiln API at ${base} (${failureReason(err)}). Is Kiln running there (npm run dev starts one on http://127.0.0.1:8787), and is the URL right (--api-url, KILN_API_URL or ITTYBIT_API_URL)?`,
  };
}

/**
 * @example
 * const api = apiClient('http://127.0.0.1:8787', 'kiln_dev_key');
 * const jobs = await api.call<Job[]>('GET', '/jobs?limit=5');
 * // With `debug`, each request and its HTTP status are handed to it (kiln --debug prints them).
 */
export function apiClient(baseUrl: string, key: string, signal?: AbortSignal, debug?: (line: string) => void): ApiClient {
  const base = baseUrl.replace(/\/$/, '');
  return {
    baseUrl: base,
    async call<T>(method: string, path: string, json?: unknown): Promise<ApiResult<T>> {
      let res: Response;
      debug?.(`> ${method} ${base}${path}`);
      try {
        res = await fetch(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
          body: json === undefined ? undefined : JSON.stringify(json),
          signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(API_TIMEOUT_MS)]) : AbortSignal.timeout(API_TIMEOUT_MS),
        });
      } catch (err) {
        debug?.(`< ${method} ${path}: ${(err as Error).message}`);
        if (signal?.aborted) return { ok: false, error: interruptedError() };
        return { ok: false, error: apiUnreachable(base, err) };
      }
      debug?.(`< ${res.status} ${method} ${path}`);
      const text = await res.text();
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        return { ok: false, error: { kind: 'internal_error', message: `Kiln answered HTTP ${res.status} with a body that is not JSON.` } };
      }
      if (!res.ok) {
        const err = body as Partial<CliError> & { issues?: { path: string; message: string }[] };
        const message = err.issues?.length ? err.issues.map((i) => i.message).join('; ') : (err.message ?? `HTTP ${res.status}`);
        return { ok: false, error: { kind: err.kind ?? 'internal_error', message } };
      }
      return { ok: true, status: res.status, body: body as T, headers: res.headers };
    },
  };
}

/**
 * The API to use: flags first, then KILN_*, then ITTYBIT_* so an Ittybit user's environment works.
 * Unlike Ittybit, a key without a URL stays local: there is no hosted Kiln to default to.
 */
export function apiFromEnv(
  cli: { apiUrl?: string | undefined; apiKey?: string | undefined },
  env: NodeJS.ProcessEnv,
): { url?: string; key?: string } {
  const url = cli.apiUrl ?? (env.KILN_API_URL || undefined) ?? (env.ITTYBIT_API_URL || undefined);
  const key = cli.apiKey ?? (env.KILN_API_KEY || undefined) ?? (env.ITTYBIT_API_KEY || undefined);
  return { ...(url ? { url } : {}), ...(key ? { key } : {}) };
}

/**
 * The connection the user names, and where the name came from (for messages): `--connection`,
 * else KILN_CONNECTION, else ITTYBIT_CONNECTION, Ittybit's order; null when none is named. Local
 * mode looks the name up in this machine's store, remote mode in the API's connections.
 */
export function namedConnection(flag: string | undefined, env: NodeJS.ProcessEnv): { name: string; from: string } | null {
  if (flag) return { name: flag, from: '--connection' };
  if (env.KILN_CONNECTION) return { name: env.KILN_CONNECTION, from: 'KILN_CONNECTION' };
  if (env.ITTYBIT_CONNECTION) return { name: env.ITTYBIT_CONNECTION, from: 'ITTYBIT_CONNECTION' };
  return null;
}
