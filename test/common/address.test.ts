import { describe, expect, it } from 'vitest';
import { classifyHost, outboundRefusal } from '../../common/address.ts';

/** Hosts as WHATWG URL parsing leaves them, which is what the checks see. */
const host = (url: string) => new URL(url).hostname;

describe('classifyHost', () => {
  it.each([
    ['http://127.0.0.1/', 'loopback'],
    ['http://2130706433/', 'loopback'],
    ['http://0x7f.1/', 'loopback'],
    ['http://017700000001/', 'loopback'],
    ['http://localhost/', 'loopback'],
    ['http://api.localhost/', 'loopback'],
    ['http://[::1]/', 'loopback'],
    ['http://[0:0:0:0:0:0:0:1]/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://169.254.169.254/', 'forbidden'],
    ['http://[::ffff:169.254.169.254]/', 'forbidden'],
    ['http://metadata.google.internal/', 'forbidden'],
    ['http://10.1.2.3/', 'forbidden'],
    ['http://172.16.0.1/', 'forbidden'],
    ['http://192.168.1.1/', 'forbidden'],
    ['http://100.64.0.1/', 'forbidden'],
    ['http://0.0.0.0/', 'forbidden'],
    ['http://224.0.0.1/', 'forbidden'],
    ['http://[::]/', 'forbidden'],
    ['http://[fe80::1]/', 'forbidden'],
    ['http://[fd12::1]/', 'forbidden'],
    ['http://[64:ff9b::a00:1]/', 'forbidden'],
    ['http://[::a00:1]/', 'forbidden'],
    ['http://8.8.8.8/', 'public'],
    ['http://[::ffff:8.8.8.8]/', 'public'],
    ['http://[2606:4700::1111]/', 'public'],
    ['https://darkroom-app.com/', 'public'],
  ])('%s is %s', (url, expected) => {
    expect(classifyHost(host(url))).toBe(expected);
  });
});

describe('outboundRefusal', () => {
  it.each([
    ['8.8.8.8', false, null],
    ['10.0.0.5', true, 'forbidden'],
    ['169.254.169.254', true, 'forbidden'],
    ['127.0.0.1', false, 'loopback'],
    ['127.0.0.1', true, null],
    ['localhost', true, null],
  ] as const)('%s with allowLoopback %s is refused as %s', (hostname, allowLoopback, expected) => {
    expect(outboundRefusal(hostname, { allowLoopback })).toBe(expected);
  });
});
