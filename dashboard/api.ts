import type { ErrorBody } from '../schemas/errors.ts';

/** The API key lives in this tab's session storage only: never in a URL, a cookie or local storage. */
const KEY_STORAGE = 'kiln.api_key';

export function apiKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function saveApiKey(key: string | null): void {
  if (key === null) sessionStorage.removeItem(KEY_STORAGE);
  else sessionStorage.setItem(KEY_STORAGE, key);
}

/** A refusal from the API, with its `kind` and message as the API wrote them. */
export class ApiError extends Error {
  readonly status: number;
  readonly kind: string;
  constructor(status: number, kind: string, message: string) {
    super(message);
    this.status = status;
    this.kind = kind;
  }
}

export interface ApiResponse<T> {
  body: T;
  headers: Headers;
}

/**
 * A call to this origin's API with the tab's key as the bearer token.
 *
 * @example
 * const { body: job } = await api<Job>(`/jobs/${id}`);
 */
export async function api<T>(path: string, init: RequestInit & { json?: unknown; key?: string } = {}): Promise<ApiResponse<T>> {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${init.key ?? apiKey() ?? ''}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.json);
  }
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers, body });
  } catch {
    throw new ApiError(0, 'network_error', 'Kiln did not answer; check your connection and try again.');
  }
  const text = await res.text();
  const parsed = text ? (JSON.parse(text) as unknown) : null;
  if (!res.ok) {
    const error = parsed as Partial<ErrorBody> | null;
    throw new ApiError(res.status, error?.kind ?? 'internal_error', error?.message ?? `Kiln answered ${res.status}.`);
  }
  return { body: parsed as T, headers: res.headers };
}
