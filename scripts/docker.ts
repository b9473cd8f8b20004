import { execFileSync, spawnSync } from 'node:child_process';

/**
 * Finding a Docker engine for `wrangler dev` with containers. Wrangler runs `WRANGLER_DOCKER_BIN`
 * (default `docker`) against `DOCKER_HOST`; both may come from the environment. `KILN_DOCKER_SETUP`
 * may name an idempotent script that makes an engine ready and prints `export NAME=value` lines
 * (CI machines without Docker Hub use one); its variables are passed on to wrangler.
 */

/**
 * `wrangler dev` arguments for the container stack: build and run the Dockerfile, no
 * PROCESSOR_URL (so the ProcessorContainer binding is used), and listen where the container's
 * requests to the Worker's origin arrive (from the Docker bridge, not loopback).
 */
export const CONTAINER_DEV_ARGS = ['--enable-containers', '--ip', '0.0.0.0', '--var', 'PROCESSOR_URL:'];

/** A docker command that has not answered in this long is an engine that will not. */
const DOCKER_PROBE_TIMEOUT_MS = 20_000;

export type DockerCheck = { ok: true; version: string } | { ok: false; problem: string };

export function checkDocker(env: NodeJS.ProcessEnv = process.env): DockerCheck {
  const bin = env.WRANGLER_DOCKER_BIN || 'docker';
  const docker = (args: string[]) => spawnSync(bin, args, { env, encoding: 'utf8', timeout: DOCKER_PROBE_TIMEOUT_MS });
  const res = docker(['info', '--format', '{{.ServerVersion}}']);
  if (res.error) return { ok: false, problem: `${bin} could not be run (${res.error.message}): install Docker.` };
  if (res.status !== 0) {
    const why = (res.stderr || res.stdout).trim().split('\n').at(-1) ?? '';
    return { ok: false, problem: `no Docker engine answers at ${env.DOCKER_HOST || 'the default socket'} (${why}): start Docker.` };
  }
  // wrangler builds with `docker build --load`, a BuildKit (buildx) flag.
  const buildx = docker(['build', '--load', '--help']);
  if (buildx.status !== 0) {
    return {
      ok: false,
      problem: `${bin} has no buildx plugin, which wrangler needs to build images: install docker-buildx (or Docker Desktop).`,
    };
  }
  // workerd reaches containers through the default bridge's gateway (GET /networks/bridge); some
  // distributions' dockerd leave it out of the network's IPAM config unless it is set.
  const gateway = docker(['network', 'inspect', 'bridge', '--format', '{{range .IPAM.Config}}{{.Gateway}}{{end}}']);
  if (gateway.status === 0 && gateway.stdout.trim() === '') {
    return {
      ok: false,
      problem:
        'Docker\'s bridge network reports no gateway, which wrangler\'s runtime needs to reach containers: add {"bip": "172.17.0.1/16"} to /etc/docker/daemon.json and restart dockerd.',
    };
  }
  return { ok: true, version: res.stdout.trim() };
}

/** Runs KILN_DOCKER_SETUP when set, then checks the engine; returns the variables it exported. */
export function prepareDocker(env: NodeJS.ProcessEnv = process.env): { check: DockerCheck; exported: Record<string, string> } {
  const exported: Record<string, string> = {};
  if (env.KILN_DOCKER_SETUP) {
    const out = execFileSync('bash', [env.KILN_DOCKER_SETUP], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    for (const m of out.matchAll(/^export ([A-Z_][A-Z0-9_]*)=(.*)$/gm)) exported[m[1]!] = m[2]!;
  }
  return { check: checkDocker({ ...env, ...exported }), exported };
}
