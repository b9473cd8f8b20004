#!/usr/bin/env node
import { existsSync, readFileSync, statSync } from 'node:fs';
import module from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

// The built CLI targets Node 24, and the fallback below runs the TypeScript sources by type stripping.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`kiln needs Node.js 24 or newer; this is ${process.version}.\n`);
  process.exit(1);
}
// Node keeps V8's compiled code between runs, in the OS temp folder: each start after the first
// skips most of its parsing.
module.enableCompileCache?.();

const ROOT = resolve(import.meta.dirname, '..');
const CACHE = join(ROOT, 'node_modules', '.cache', 'kiln');

/**
 * The built CLI's folder when no source it was built from changed since (a few dozen stats, well
 * under a millisecond), else undefined. scripts/build-cli.js writes the pointer it reads.
 */
function freshBuild() {
  try {
    const pointer = JSON.parse(readFileSync(join(CACHE, 'current.json'), 'utf8'));
    for (const input of pointer.inputs) if (statSync(join(ROOT, input)).mtimeMs > pointer.builtAt) return undefined;
    return existsSync(join(pointer.dir, 'main.js')) ? pointer.dir : undefined;
  } catch {
    return undefined;
  }
}

let dir = freshBuild();
if (!dir) {
  try {
    const { buildCli } = await import('../scripts/build-cli.js');
    dir = await buildCli();
  } catch (err) {
    // No esbuild (an install without dev dependencies) or a read-only checkout: the sources still
    // run, only slower to start.
    process.stderr.write(`note: could not build the kiln CLI (${err.message.split('\n')[0]}); running it from source\n`);
  }
}
await import(dir ? pathToFileURL(join(dir, 'main.js')).href : '../cli/main.ts');
