import { createServer, type Server } from 'node:http';
import type { TestProject } from 'vitest/node';
import { devVars } from './dev-vars.ts';

/**
 * A stand-in processor for the Workers-runtime tests: a real HTTP server that records every task
 * the queue consumer dispatches and answers with the status a test asks for. Tests read the
 * recorded tasks (with their callback tokens) to play the processor's side. End-to-end tests use
 * the real processor instead.
 *
 * Like the real processor it answers 401 to a task without the Worker's PROCESSOR_SECRET.
 * Control: `PUT /_status/{job_id}` with a status code (default 202); `GET /_tasks/{job_id}`. A
 * group (`POST /run-group`) records each task under its job, gets the first status set for any
 * of them, and `GET /_groups/{job_id}` lists the groups (their job ids) the job was offered in.
 * It also plays a webhook receiver: `POST /_hook/{name}` records the request and answers the
 * status set by `PUT /_hook_status/{name}` (default 200); `GET /_hooks/{name}` lists them.
 * `PUT /_hook_hold/{name}` makes it record requests but keep them waiting for their answer until
 * `POST /_hook_release/{name}` (a slow receiver, without timing anything).
 */
let server: Server;

export default async function setup(project: TestProject) {
  const tasks = new Map<string, unknown[]>();
  const statuses = new Map<string, number>();
  const groups = new Map<string, string[][]>();
  const hooks = new Map<string, { headers: Record<string, string>; body: string; status: number }[]>();
  const hookStatuses = new Map<string, number>();
  const heldHooks = new Map<string, (() => void)[]>();
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const [, route, id = ''] = url.pathname.split('/');
      const dispatch = req.method === 'POST' && (route === 'run' || route === 'run-group');
      if (dispatch && req.headers.authorization !== `Bearer ${devVars().PROCESSOR_SECRET}`) {
        res.writeHead(401).end(JSON.stringify({ kind: 'unauthorized', message: 'wrong processor secret' }));
      } else if (dispatch) {
        const offered =
          route === 'run' ? [JSON.parse(body) as { job_id: string }] : (JSON.parse(body) as { tasks: { job_id: string }[] }).tasks;
        const ids = offered.map((task) => task.job_id);
        // A group gets one answer: the first status a test set for any of its jobs.
        const status = ids.map((id) => statuses.get(id)).find((s) => s !== undefined) ?? 202;
        for (const task of offered) {
          tasks.set(task.job_id, [...(tasks.get(task.job_id) ?? []), task]);
          if (route === 'run-group') groups.set(task.job_id, [...(groups.get(task.job_id) ?? []), ids]);
        }
        res.writeHead(status, status === 503 ? { 'retry-after': '1' } : {}).end(JSON.stringify({ status }));
      } else if (req.method === 'GET' && route === '_groups') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(groups.get(id) ?? []));
      } else if (req.method === 'PUT' && route === '_status') {
        statuses.set(id, Number(body));
        res.writeHead(204).end();
      } else if (req.method === 'GET' && route === '_tasks') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(tasks.get(id) ?? []));
      } else if (req.method === 'POST' && route === '_hook') {
        const status = hookStatuses.get(id) ?? 200;
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
        hooks.set(id, [...(hooks.get(id) ?? []), { headers, body, status }]);
        const answer = () => res.writeHead(status, status === 503 ? { 'retry-after': '30' } : {}).end();
        const held = heldHooks.get(id);
        if (held) held.push(answer);
        else answer();
      } else if (req.method === 'PUT' && route === '_hook_hold') {
        heldHooks.set(id, []);
        res.writeHead(204).end();
      } else if (req.method === 'POST' && route === '_hook_release') {
        for (const answer of heldHooks.get(id) ?? []) answer();
        heldHooks.delete(id);
        res.writeHead(204).end();
      } else if (req.method === 'PUT' && route === '_hook_status') {
        hookStatuses.set(id, Number(body));
        res.writeHead(204).end();
      } else if (req.method === 'GET' && route === '_hooks') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(hooks.get(id) ?? []));
      } else if (route === 'health') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', ffmpeg: 'double' }));
      } else res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  project.provide('processorDoubleUrl', `http://127.0.0.1:${port}`);
  return async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}
