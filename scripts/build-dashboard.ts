/**
 * Builds the dashboard (dashboard/) into dashboard/dist/, the Worker's static assets, when any of
 * its sources (or the schemas it is typed against, or the lockfile) is newer than the last build:
 *
 *   node scripts/build-dashboard.ts [--force]
 *
 * Run by `npm install` (prepare), `npm run build` and `npm run dev`, and by the test setups that
 * start a Worker, so the assets are never missing or stale and nobody has to remember a step.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
export const DASHBOARD_DIST = join(ROOT, 'dashboard', 'dist');
/** Written after a whole build; its time is the build's. */
const STAMP = join(DASHBOARD_DIST, '.built');
const SOURCES = ['dashboard', 'schemas', 'package-lock.json'];

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (path === join(ROOT, 'dashboard') && entry === 'dist') continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

export function dashboardIsFresh(): boolean {
  if (!existsSync(STAMP)) return false;
  const built = statSync(STAMP).mtimeMs;
  return SOURCES.every((source) => newestMtime(join(ROOT, source)) <= built);
}

/**
 * Builds when stale (or always with `force`); returns whether it built.
 *
 * @example
 * await buildDashboard(); // before starting wrangler
 */
export async function buildDashboard({ force = false }: { force?: boolean } = {}): Promise<boolean> {
  if (!force && dashboardIsFresh()) return false;
  const { build } = await import('vite');
  await build({ configFile: join(ROOT, 'dashboard', 'vite.config.ts'), logLevel: 'warn' });
  await writeFile(STAMP, `${new Date().toISOString()}\n`);
  return true;
}

if (import.meta.main) {
  const built = await buildDashboard({ force: process.argv.includes('--force') });
  process.stdout.write(built ? `Dashboard built into ${DASHBOARD_DIST}\n` : 'Dashboard is up to date\n');
}
