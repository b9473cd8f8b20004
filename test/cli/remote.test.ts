import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseCli } from '../../cli/args.ts';
import { runRemote } from '../../cli/remote.ts';
import { classifyHost } from '../../common/address.ts';
import { fixture } from '../support/media.ts';

/**
 * An address of this machine that the processor's SSRF guard refuses: a private interface
 * (10/8, 172.16/12, 192.168/16) when there is one, else the unspecified address 0.0.0.0, which
 * the guard also refuses and which still reaches this machine.
 */
function privateAddress(): string {
  const addresses = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  const own = addresses.find((a) => a.family === 'IPv4' && !a.internal && classifyHost(a.address) === 'forbidden');
  return own?.address ?? '0.0.0.0';
}

let server: Server;
let base = '';
const requests: { method: string; url: string; bytes: number; length: string | undefined; type: string | undefined }[] = [];
/** What storage answers the PUT: 200, or S3's answer to a Content-Type other than the signed one. */
let putRefused = false;

beforeAll(async () => {
  const host = privateAddress();
  server = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        bytes,
        length: req.headers['content-length'],
        type: req.headers['content-type'],
      });
      const reply = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      const route = `${req.method} ${req.url}`;
      if (route === 'POST /uploads') reply(201, { file: { id: 'file_1' }, upload_url: `${base}/files/file_1` });
      else if (route === 'PUT /files/file_1' && putRefused)
        res.writeHead(403).end('<?xml version="1.0"?><Error><Code>SignatureDoesNotMatch</Code><Message>…</Message></Error>');
      else if (route === 'PUT /files/file_1') res.writeHead(200).end();
      else if (route === 'POST /jobs')
        reply(201, { id: 'job_1', kind: 'image', status: 'queued', progress: 0, input: 'file_1', tasks: [] });
      else reply(404, { kind: 'not_found', message: 'No such route.' });
    });
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  base = `http://${host}:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.close();
});

describe('kiln CLI remote mode', () => {
  test("uploads to a self-hosted Kiln on a private address, which is the user's choice and not an SSRF target", async () => {
    const photo = fixture('photo.png');
    const outcome = await runRemote(parseCli(['image', '-i', photo, '--async']), base, 'kiln_dev_key', new AbortController().signal);
    expect(outcome).toMatchObject({ ok: true, lines: [expect.stringMatching(/^job_1 /)] });
    const { size } = await stat(photo);
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /uploads', 'PUT /files/file_1', 'POST /jobs']);
    expect(requests[1]).toMatchObject({ bytes: size, length: String(size), type: 'image/png' });
  });

  test('says which Content-Type the upload URL accepts when storage refuses the signature', async () => {
    putRefused = true;
    const outcome = await runRemote(
      parseCli(['image', '-i', fixture('photo.png'), '--async']),
      base,
      'kiln_dev_key',
      new AbortController().signal,
    );
    putRefused = false;
    expect(outcome).toMatchObject({
      ok: false,
      error: {
        kind: 'output_write_failed',
        message: expect.stringMatching(
          /failed with HTTP 403\. Storage refused the signature: the upload URL accepts only Content-Type: image\/png, as declared to POST \/uploads\.$/,
        ),
      },
    });
  });
});
