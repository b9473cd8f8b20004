import { exports } from 'cloudflare:workers';
import { inject, vi } from 'vitest';
import type { ProcessorEvent, ProcessorTask } from '../../schemas/processor.ts';
import type { DispatchResult, Processor } from '../../worker/dispatch/processor.ts';

export const KEY = 'kiln_dev_key';
export const BASE = 'http://127.0.0.1:8787';

/** A request to the Worker under test, as the dev tenant unless another key is given. */
export function api(path: string, init: RequestInit & { json?: unknown; key?: string | null } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const key = init.key === undefined ? KEY : init.key;
  if (key) headers.set('authorization', `Bearer ${key}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.json);
  }
  return exports.default.fetch(new Request(`${BASE}${path}`, { ...init, headers, body }));
}

export const VIDEO_JOB = {
  input: 'https://darkroom-app.com/uploads/clip.mov',
  kind: 'video',
  options: { width: 1920, format: 'mp4', quality: 'high' },
} as const;

/** The recording processor of test/support/processor-double.ts. */
export function processorDouble() {
  const base = inject('processorDoubleUrl');
  return {
    async respondWith(jobId: string, status: number) {
      await fetch(`${base}/_status/${jobId}`, { method: 'PUT', body: String(status) });
    },
    async tasks(jobId: string): Promise<ProcessorTask[]> {
      return (await fetch(`${base}/_tasks/${jobId}`)).json();
    },
    /** The groups (each its job ids, in order) the job was offered in through POST /run-group. */
    async groups(jobId: string): Promise<string[][]> {
      return (await fetch(`${base}/_groups/${jobId}`)).json();
    },
    hookUrl(name: string) {
      return `${base}/_hook/${name}`;
    },
    async hookRespondWith(name: string, status: number) {
      await fetch(`${base}/_hook_status/${name}`, { method: 'PUT', body: String(status) });
    },
    /** Keeps the receiver's answers waiting until {@link releaseHooks}: an attempt stays in flight. */
    async holdHooks(name: string) {
      await fetch(`${base}/_hook_hold/${name}`, { method: 'PUT' });
    },
    async releaseHooks(name: string) {
      await fetch(`${base}/_hook_release/${name}`, { method: 'POST' });
    },
    async hooks(name: string): Promise<{ headers: Record<string, string>; body: string; status: number }[]> {
      return (await fetch(`${base}/_hooks/${name}`)).json();
    },
    /** Waits until the queue consumer has dispatched `count` runs of the job. */
    async waitForTasks(jobId: string, count = 1): Promise<ProcessorTask[]> {
      return vi.waitFor(
        async () => {
          const tasks = await this.tasks(jobId);
          if (tasks.length < count) throw new Error(`only ${tasks.length} dispatches of ${jobId}`);
          return tasks;
        },
        { timeout: 15_000, interval: 50 },
      );
    },
  };
}

/** Posts a processor event to the job's callback URL with the run's token, as the processor does. */
type EventBody = ProcessorEvent extends infer E ? (E extends unknown ? Omit<E, 'attempt'> & { attempt?: number } : never) : never;

export function report(task: ProcessorTask, event: EventBody, token = task.callback.token) {
  return exports.default.fetch(
    new Request(task.callback.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ attempt: task.attempt, ...event }),
    }),
  );
}

export async function createJob(body: Record<string, unknown> = {}): Promise<{ id: string }> {
  const res = await api('/jobs', { method: 'POST', json: { ...VIDEO_JOB, ...body } });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
  return res.json();
}

export const OUTPUT_INFO = {
  kind: 'video',
  format: 'mp4',
  type: 'video/mp4',
  width: 1920,
  height: 1080,
  duration: 2,
  fps: 30,
  bitrate: 3_000_000,
  filesize: 750_000,
  codecs: { video: 'h264', audio: 'aac' },
  has_audio: true,
  rotation: 0,
} as const;

/** A processor that answers every dispatch with `result` and remembers the tasks. */
export function answering(result: DispatchResult): Processor & { tasks: ProcessorTask[] } {
  const tasks: ProcessorTask[] = [];
  return {
    tasks,
    async dispatch(task) {
      tasks.push(task);
      return result;
    },
    async dispatchGroup(group) {
      tasks.push(...group.tasks);
      return result;
    },
  };
}
