/**
 * Builds the `kiln` CLI (cli/main.ts) into plain JavaScript under node_modules/.cache/kiln/, where
 * Node still resolves the project's packages: starting from built code skips type-stripping every
 * module, and code splitting lets `--help` or a remote command load neither sharp nor the engine.
 *
 *   node scripts/build-cli.js        (run by `npm install` through the `prepare` script)
 *
 * `prepare` skips it where there is no scripts/ folder: the processor's Docker image runs
 * `npm install` with only package.json copied in, and has no CLI to build.
 *
 * Plain JavaScript, not TypeScript, because bin/kiln.js imports it to rebuild a stale build and
 * must not depend on type stripping to do so. Each build goes to a folder of its own and
 * `current.json` (written to a temporary name, then renamed) points at the newest, so two runs
 * building at once each finish whole and neither reads the other's half-written files.
 */
import { randomBytes } from 'node:crypto';
import { readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const ROOT = resolve(import.meta.dirname, '..');
export const CACHE = join(ROOT, 'node_modules', '.cache', 'kiln');
export const POINTER = join(CACHE, 'current.json');
/** A build older than this that is not current is removed: a run started from it has long since loaded its chunks. */
const STALE_BUILD_MS = 10 * 60_000;

/**
 * Bundles the CLI and points current.json at it.
 *
 * @returns the folder holding main.js
 */
export async function buildCli() {
  const { build } = await import('esbuild');
  const startedAt = Date.now();
  const dir = join(CACHE, `cli-${startedAt}-${randomBytes(4).toString('hex')}`);
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ['cli/main.ts'],
    outdir: dir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    packages: 'external',
    metafile: true,
    logLevel: 'warning',
  });
  // The sources' mtimes are compared with the time the build started, not ended: an edit saved
  // while esbuild was reading still counts as newer than the build.
  // This script is an input too: a change to how the CLI is built must not leave an old build running.
  const inputs = [...Object.keys(result.metafile.inputs), 'scripts/build-cli.js'];
  const pointer = { dir, builtAt: startedAt, inputs };
  const temporary = `${POINTER}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(temporary, JSON.stringify(pointer));
  await rename(temporary, POINTER);
  await removeOldBuilds(dir);
  return dir;
}

async function removeOldBuilds(keep) {
  for (const name of await readdir(CACHE)) {
    const path = join(CACHE, name);
    if (!name.startsWith('cli-') || path === keep) continue;
    const { mtimeMs } = await stat(path).catch(() => ({ mtimeMs: Date.now() }));
    if (Date.now() - mtimeMs > STALE_BUILD_MS) await rm(path, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const dir = await buildCli();
  process.stderr.write(`built the kiln CLI into ${dir}\n`);
}
