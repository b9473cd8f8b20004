/**
 * `npm run bench`: every benchmark, one after another so they never share the CPU, with their
 * markdown tables collected into bench/.work/results.md. Pass names to run a subset:
 * `npm run bench -- engine pipeline`. `npm run bench:chaos -- --jobs 30` runs the chaos run alone
 * with its flags.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const HERE = resolve(import.meta.dirname);
const BENCHES: Record<string, string[]> = {
  engine: ['engine.ts'],
  group: ['group.ts'],
  api: ['api.ts'],
  pipeline: ['pipeline.ts'],
  memory: ['memory.ts'],
  chaos: ['chaos.ts'],
};

const chosen = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(BENCHES);
let report = `# Kiln benchmarks — ${new Date().toISOString()}\n`;
let failed = false;
for (const name of chosen) {
  const args = BENCHES[name];
  if (!args) throw new Error(`Unknown benchmark ${name}; expected one of ${Object.keys(BENCHES).join(', ')}`);
  console.error(`\n=== ${name} ===`);
  const output = await new Promise<string>((done) => {
    let out = '';
    const child = spawn(process.execPath, [join(HERE, args[0]!), ...args.slice(1)], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      process.stdout.write(d);
    });
    child.on('exit', (code) => {
      if (code !== 0) failed = true;
      done(out);
    });
  });
  report += `\n${output
    .split('\n')
    .filter((l) => !l.startsWith('[wrangler'))
    .join('\n')}\n`;
}
await mkdir(join(HERE, '.work'), { recursive: true });
await writeFile(join(HERE, '.work', 'results.md'), report);
if (failed) process.exitCode = 1;
