#!/usr/bin/env node
import module from 'node:module';

// Plain-JS shim: the CLI is TypeScript run by Node's type stripping, which needs Node 24.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`kiln needs Node.js 24 or newer; this is ${process.version}.\n`);
  process.exit(1);
}
// Node keeps the compiled (type-stripped) modules between runs, in the OS temp folder: each start
// after the first skips about a third of its work.
module.enableCompileCache?.();
await import('../cli/main.ts');
