import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { kilnIn } from '../support/kiln-cli.ts';

let home: string;
const store = () => join(home, '.config', 'kiln', 'connections.json');

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'kiln-home-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

/** Ittybit's `connections add s3` command, as its CLI documentation spells it (kiln for ittybit). */
// biome-ignore format: kiln CLI arguments read as flag/value pairs
const ADD_R2 = [
  'connections', 'add', 's3', '--name', 'my-r2', '--endpoint', 'https://acct.r2.cloudflarestorage.com',
  '--region', 'auto', '--access-key-id', 'AKIDEXAMPLE', '--secret-access-key', 'wJalrXUtnFEMI-secret',
];

describe('kiln connections in local mode', () => {
  test('add s3 saves the connection in a 0600 file in a 0700 directory under XDG_CONFIG_HOME', async () => {
    const run = await kilnIn(home, ADD_R2);
    expect(run.stderr).toContain(`saved connection "my-r2" in ${store()}`);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('wJalrXUtnFEMI-secret');
    expect((await stat(store())).mode & 0o777).toBe(0o600);
    expect((await stat(join(home, '.config', 'kiln'))).mode & 0o777).toBe(0o700);
    const saved = JSON.parse(await readFile(store(), 'utf8'));
    expect(saved.connections).toEqual([
      expect.objectContaining({
        name: 'my-r2',
        kind: 's3',
        endpoint: 'https://acct.r2.cloudflarestorage.com',
        region: 'auto',
        access_key_id: 'AKIDEXAMPLE',
        secret_access_key: 'wJalrXUtnFEMI-secret',
        is_default: true,
      }),
    ]);
  });

  test('list never prints the secret, in text or JSON', async () => {
    await kilnIn(home, ADD_R2);
    // biome-ignore format: kiln CLI arguments read as flag/value pairs
    await kilnIn(home, ['connections', 'add', 's3', '--name', 'aws', '--access_key_id', 'AKIAWS', '--secret_access_key', 'aws-secret-value', '--default']);
    const text = await kilnIn(home, ['connections', 'list', '--tty']);
    expect(text.code).toBe(0);
    expect(text.stdout.trim().split('\n')).toEqual([
      'my-r2  https://acct.r2.cloudflarestorage.com  auto  AKIDEXAMPLE',
      'aws  AWS S3 (us-east-1)  us-east-1  AKIAWS  (default)',
    ]);
    const json = await kilnIn(home, ['connections', 'list', '--json']);
    // JSON Lines: one connection per line.
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([
      expect.objectContaining({ name: 'my-r2', is_default: false }),
      expect.objectContaining({ name: 'aws', region: 'us-east-1', is_default: true }),
    ]);
    for (const out of [text.stdout, text.stderr, json.stdout]) {
      expect(out).not.toContain('wJalrXUtnFEMI-secret');
      expect(out).not.toContain('aws-secret-value');
      expect(out).not.toContain('secret_access_key');
    }
  });

  test('add with an existing name replaces it, keeping one entry and its default', async () => {
    await kilnIn(home, ADD_R2);
    const again = await kilnIn(
      home,
      ADD_R2.map((a) => (a === 'wJalrXUtnFEMI-secret' ? 'rotated-secret' : a)),
    );
    expect(again.stderr).toContain('replaced connection "my-r2"');
    const saved = JSON.parse(await readFile(store(), 'utf8'));
    expect(saved.connections).toHaveLength(1);
    expect(saved.connections[0].secret_access_key).toBe('rotated-secret');
    // biome-ignore format: kiln CLI arguments read as flag/value pairs
    await kilnIn(home, ['connections', 'add', 's3', '--name', 'other', '--access-key-id', 'a', '--secret-access-key', 'b']);
    await kilnIn(home, ADD_R2);
    const defaults = JSON.parse(await readFile(store(), 'utf8')).connections.map((c: { name: string; is_default: boolean }) => [
      c.name,
      c.is_default,
    ]);
    expect(defaults).toEqual([
      ['other', false],
      ['my-r2', true],
    ]);
    expect((await stat(store())).mode & 0o777).toBe(0o600);
  });

  test('delete removes it; an unknown name is not_found', async () => {
    await kilnIn(home, ADD_R2);
    const deleted = await kilnIn(home, ['connections', 'delete', 'my-r2', '--tty']);
    expect(deleted).toMatchObject({ code: 0, stdout: 'deleted my-r2\n' });
    expect(JSON.parse(await readFile(store(), 'utf8')).connections).toEqual([]);
    const again = await kilnIn(home, ['connections', 'delete', 'my-r2', '--tty']);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`not_found: No connection named "my-r2" in ${store()}; kiln connections list shows them\n`);
  });

  test('add without a required flag names it', async () => {
    const run = await kilnIn(home, ADD_R2.slice(0, -2));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^invalid_input: Missing --secret-access-key; usage: kiln connections add s3 --name <name>/);
    const gcs = await kilnIn(home, ['connections', 'add', 'gcs', '--name', 'x', '--access-key-id', 'a', '--secret-access-key', 'b']);
    expect(gcs.stderr).toMatch(/^invalid_input: Expected s3 for the connection kind but received "gcs"/);
  });

  test('a corrupt store is named, with what to do, not thrown', async () => {
    await kilnIn(home, ADD_R2);
    await writeFile(store(), '{"connections": [');
    const run = await kilnIn(home, ['connections', 'list']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `invalid_input: ${store()} is not a Kiln connections file; fix it or delete it and add the connections again with kiln connections add s3\n`,
    );
  });
});
