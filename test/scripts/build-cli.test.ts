import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'kiln.js');
const POINTER = join(ROOT, 'node_modules', '.cache', 'kiln', 'current.json');
const NODE = existsSync(join(ROOT, 'node_modules', '.bin', 'node')) ? join(ROOT, 'node_modules', '.bin', 'node') : process.execPath;

interface Pointer {
  dir: string;
  builtAt: number;
  inputs: string[];
}

function help(): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(NODE, [BIN, '--help'], (error, stdout, stderr) => done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
  });
}

/** The packages a built file and the chunks it imports statically load, i.e. what loads before any `import()`. */
async function staticPackages(dir: string, file: string, seen = new Set<string>()): Promise<Set<string>> {
  const packages = new Set<string>();
  if (seen.has(file)) return packages;
  seen.add(file);
  const text = await readFile(join(dir, file), 'utf8');
  for (const [, specifier] of text.matchAll(/^(?:import|export)\b[^;]*?["']([^"']+)["'];?$/gms)) {
    if (specifier!.startsWith('./')) for (const p of await staticPackages(dir, specifier!.slice(2), seen)) packages.add(p);
    else if (!specifier!.startsWith('node:')) packages.add(specifier!);
  }
  return packages;
}

describe('the built CLI (scripts/build-cli.js, bin/kiln.js)', () => {
  test('--help runs the build, whose entry loads no zod, sharp, fluent-ffmpeg or engine until a command needs them', async () => {
    expect((await help()).code).toBe(0);
    const { dir } = JSON.parse(await readFile(POINTER, 'utf8')) as Pointer;
    expect([...(await staticPackages(dir, 'main.js'))]).toEqual([]);
    const local = (await readdir(dir)).find((file) => file.startsWith('local-'));
    expect([...(await staticPackages(dir, local!))]).toEqual(expect.arrayContaining(['sharp', 'fluent-ffmpeg', 'zod']));
  });

  test('a source newer than the build makes the next runs rebuild; runs started together each get a whole build', async () => {
    await help();
    const before = JSON.parse(await readFile(POINTER, 'utf8')) as Pointer;
    expect(before.inputs).toContain('cli/main.ts');
    // As if every source had been saved after the build.
    await writeFile(POINTER, JSON.stringify({ ...before, builtAt: 0 }));
    const runs = await Promise.all([help(), help(), help()]);
    for (const run of runs) expect([run.code, run.stderr, run.stdout.startsWith('kiln — ')]).toEqual([0, '', true]);
    const after = JSON.parse(await readFile(POINTER, 'utf8')) as Pointer;
    expect(after.dir).not.toBe(before.dir);
    expect(after.builtAt).toBeGreaterThan(0);
    expect(existsSync(join(after.dir, 'main.js'))).toBe(true);
  });
});
