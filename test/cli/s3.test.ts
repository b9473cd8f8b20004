import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { resolveCredentials, signedUrl } from '../../cli/s3.ts';
import { kilnIn } from '../support/kiln-cli.ts';

let home: string;
/** A user's environment: only HOME and XDG_CONFIG_HOME, plus what a test sets. */
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ HOME: home, XDG_CONFIG_HOME: join(home, '.config'), ...extra });

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'kiln-home-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

async function saveConnections(...names: [string, boolean][]) {
  await mkdir(join(home, '.config', 'kiln'), { recursive: true });
  const connections = names.map(([name, isDefault]) => ({
    name,
    kind: 's3',
    endpoint: `https://${name}.example.com`,
    region: 'auto',
    access_key_id: `id-${name}`,
    secret_access_key: `secret-${name}`,
    is_default: isDefault,
    created_at: '2026-01-01T00:00:00.000Z',
  }));
  await writeFile(join(home, '.config', 'kiln', 'connections.json'), JSON.stringify({ connections }));
}

const AWS_ENV = { AWS_ACCESS_KEY_ID: 'AKIAENV', AWS_SECRET_ACCESS_KEY: 'env-secret' };

describe('s3:// credentials in local mode', () => {
  test('--connection wins, then KILN_CONNECTION, then ITTYBIT_CONNECTION, then the default, then AWS_*', async () => {
    await saveConnections(['a', false], ['b', false], ['c', false], ['d', true]);
    const pick = async (flag: string | undefined, extra: Record<string, string>) => {
      const resolved = await resolveCredentials(flag, env(extra));
      return resolved.ok ? resolved.credentials.accessKeyId : resolved.error.message;
    };
    const all = { KILN_CONNECTION: 'b', ITTYBIT_CONNECTION: 'c', ...AWS_ENV };
    expect(await pick('a', all)).toBe('id-a');
    expect(await pick(undefined, all)).toBe('id-b');
    expect(await pick(undefined, { ITTYBIT_CONNECTION: 'c', ...AWS_ENV })).toBe('id-c');
    expect(await pick(undefined, AWS_ENV)).toBe('id-d');
    await saveConnections(['a', false]);
    expect(await pick(undefined, AWS_ENV)).toBe('AKIAENV');
  });

  test('an unknown connection name says where it came from and how to add it', async () => {
    await saveConnections(['a', true]);
    const resolved = await resolveCredentials(undefined, env({ ITTYBIT_CONNECTION: 'my-s3' }));
    expect(resolved).toEqual({
      ok: false,
      error: {
        kind: 'invalid_input',
        message:
          'No local connection named "my-s3" (from ITTYBIT_CONNECTION); saved ones: a. Add it with kiln connections add s3 --name my-s3 --endpoint <url> --region <region> --access-key-id <id> --secret-access-key <secret>',
      },
    });
  });

  test('AWS_* variables: endpoint from AWS_ENDPOINT_URL_S3 over AWS_ENDPOINT_URL, region from AWS_REGION over AWS_DEFAULT_REGION', async () => {
    const resolved = await resolveCredentials(
      undefined,
      env({
        ...AWS_ENV,
        AWS_SESSION_TOKEN: 'tok',
        AWS_ENDPOINT_URL: 'http://general.example',
        AWS_ENDPOINT_URL_S3: 'http://s3.example',
        AWS_DEFAULT_REGION: 'eu-west-1',
        AWS_REGION: 'eu-central-1',
      }),
    );
    expect(resolved).toMatchObject({
      ok: true,
      credentials: { endpoint: 'http://s3.example', region: 'eu-central-1', sessionToken: 'tok', secretAccessKey: 'env-secret' },
    });
    const half = await resolveCredentials(undefined, env({ AWS_ACCESS_KEY_ID: 'AKIAENV' }));
    expect(half).toEqual({
      ok: false,
      error: {
        kind: 'invalid_input',
        message: 'AWS_SECRET_ACCESS_KEY is not set; s3:// paths need both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
      },
    });
  });

  test('falls back to the [default] profile of ~/.aws/credentials', async () => {
    await mkdir(join(home, '.aws'));
    await writeFile(
      join(home, '.aws', 'credentials'),
      '[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other\n\n[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = file-secret\n',
    );
    const resolved = await resolveCredentials(undefined, env());
    expect(resolved).toMatchObject({
      ok: true,
      credentials: { accessKeyId: 'AKIAFILE', secretAccessKey: 'file-secret', region: 'us-east-1', endpoint: undefined },
    });
  });

  test('signs path-style under an endpoint and virtual-host style on AWS S3, with the session token', async () => {
    const base = { source: 'test', fix: 'n/a', region: 'eu-west-1', accessKeyId: 'AKIA', secretAccessKey: 's' };
    const path = new URL(
      await signedUrl(
        { ...base, endpoint: 'http://127.0.0.1:8787/cdn-cgi/local/r2/s3' },
        { bucket: 'uploads', key: 'a b/clip.mov' },
        { method: 'GET' },
      ),
    );
    expect(`${path.origin}${path.pathname}`).toBe('http://127.0.0.1:8787/cdn-cgi/local/r2/s3/uploads/a%20b/clip.mov');
    const aws = new URL(
      await signedUrl(
        { ...base, sessionToken: 'tok' },
        { bucket: 'uploads', key: 'clip.mp4' },
        { method: 'PUT', contentType: 'video/mp4' },
      ),
    );
    expect(`${aws.origin}${aws.pathname}`).toBe('https://uploads.s3.eu-west-1.amazonaws.com/clip.mp4');
    expect(aws.searchParams.get('X-Amz-Security-Token')).toBe('tok');
    expect(aws.searchParams.get('X-Amz-Credential')).toMatch(/^AKIA\/\d{8}\/eu-west-1\/s3\/aws4_request$/);
    expect(aws.searchParams.get('X-Amz-SignedHeaders')).toBe('content-type;host');
  });

  test('an endpoint nothing listens on is input_unreachable, naming the object, the endpoint and the cause', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    await new Promise((r) => server.close(r));
    const run = await kilnIn(home, ['probe', '-i', 's3://uploads/clip.mov'], { ...AWS_ENV, AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `input_unreachable: Could not download s3://uploads/clip.mov from http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
  });

  test('kiln with an s3:// path and no credentials prints one line naming what to set, before any work', async () => {
    const run = await kilnIn(home, ['video', '-i', 's3://uploads/clip.mov', '-o', 'clip-hd.mp4', '--tty']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      'invalid_input: No S3 credentials for s3:// paths: pass --connection <name> after kiln connections add s3 --name <name> --endpoint <url> --region <region> --access-key-id <id> --secret-access-key <secret>, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_ENDPOINT_URL and AWS_REGION for storage other than AWS S3)\n',
    );
  });
});
