import type { TestProject } from 'vitest/node';
import { prepareDocker } from '../../scripts/docker.ts';

/**
 * The container tier needs a Docker engine for `wrangler dev` to build and run the Dockerfile.
 * Without one, `npm run test:containers` skips the tier and says why; with KILN_DOCKER_SETUP set (CI), a Docker
 * that still is not ready fails the run instead of skipping.
 */
export default function setup(project: TestProject) {
  const { check, exported } = prepareDocker();
  if (!check.ok) {
    if (process.env.KILN_DOCKER_SETUP) throw new Error(`The container tier needs Docker: ${check.problem}`);
    console.warn(`\n[containers] skipped: ${check.problem}\n`);
  }
  project.provide('dockerEnv', check.ok ? exported : null);
}
