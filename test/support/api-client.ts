import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isTerminal, type Job } from '../../schemas/job.ts';

export const API_KEY = 'kiln_dev_key';

/** A client for a running Kiln at `base`, as an app would use it: JSON over HTTP with a key. */
export function apiClient(base: string, diagnostics: () => string = () => '') {
  async function api<T = unknown>(
    path: string,
    init: RequestInit & { json?: unknown } = {},
  ): Promise<{ status: number; body: T; headers: Headers }> {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${API_KEY}`);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(init.json);
    }
    const res = await fetch(`${base}${path}`, { ...init, headers, body });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T, headers: res.headers };
  }

  /** Polls a job until it is terminal, as the seeds' "poll" pattern does. */
  async function waitForJob(id: string, timeoutMs = 90_000): Promise<Job> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await api<Job>(`/jobs/${id}`);
      if (isTerminal(body.status)) return body;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${body.status} after ${timeoutMs} ms\n${diagnostics()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  return { api, waitForJob };
}

/** Downloads a job output into `dir/name`, as a user fetching it would; any status but 200 fails. */
export async function download(url: string, dir: string, name: string): Promise<string> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${await res.text()}`);
  const path = join(dir, name);
  await writeFile(path, Buffer.from(await res.arrayBuffer()));
  return path;
}
