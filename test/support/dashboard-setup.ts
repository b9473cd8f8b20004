import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { dashboardIsFresh } from '../../scripts/build-dashboard.ts';

/**
 * wrangler.toml serves dashboard/dist as the Worker's assets: build it when it is missing or
 * stale, so a Worker started by a test always has it. In a process of its own, because vite
 * cannot load inside vitest's module runner.
 */
export default function setup(): void {
  if (dashboardIsFresh()) return;
  execFileSync(process.execPath, [resolve(import.meta.dirname, '..', '..', 'scripts', 'build-dashboard.ts')], { stdio: 'inherit' });
}
