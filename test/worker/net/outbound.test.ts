import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../worker/http/errors.ts';
import { checkOutboundUrl } from '../../../worker/net/outbound.ts';

function refusal(raw: string, opts: { allowLoopback: boolean; httpsOnly?: boolean }): unknown {
  try {
    checkOutboundUrl(raw, 'webhook_url', opts);
  } catch (err) {
    return err instanceof ValidationError ? err.issues : err;
  }
  return null;
}

describe('checkOutboundUrl', () => {
  it('returns the parsed URL of a public http(s) address', () => {
    expect(checkOutboundUrl('https://example.com/hook', 'webhook_url', { allowLoopback: false }).host).toBe('example.com');
  });

  it.each([
    ['not a url', { allowLoopback: true }, 'Expected a URL for webhook_url but received "not a url"'],
    ['ftp://example.com/x', { allowLoopback: true }, 'Expected an https:// URL for webhook_url but received the scheme ftp:'],
    [
      'http://10.0.0.5/hook',
      { allowLoopback: true },
      'webhook_url points at a private, link-local or reserved address, which Kiln never contacts',
    ],
    ['http://127.0.0.1/hook', { allowLoopback: false }, 'webhook_url points at a loopback address, which is only allowed in development'],
    ['http://example.com/hook', { allowLoopback: true, httpsOnly: true }, 'Expected an https:// URL for webhook_url'],
  ])('refuses %s, naming the field', (raw, opts, message) => {
    expect(refusal(raw, opts)).toEqual([{ path: 'webhook_url', message }]);
  });

  it('lets a development receiver on loopback use plain http', () => {
    expect(refusal('http://127.0.0.1:9000/hook', { allowLoopback: true, httpsOnly: true })).toBeNull();
  });
});
