/**
 * Recognises addresses a job must never reach (docs/api.md#limits-and-security): loopback, private, link-local (cloud
 * metadata), multicast, reserved and unspecified, for IPv4 and IPv6 literals. Hostnames are
 * checked again by the processor after DNS and after every redirect.
 */

function ipv4Parts(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : null;
}

export type AddressClass = 'public' | 'loopback' | 'forbidden';

export function classifyIPv4(host: string): AddressClass | null {
  const p = ipv4Parts(host);
  if (!p) return null;
  const [a = 0, b = 0] = p;
  if (a === 127) return 'loopback';
  if (
    a === 0 ||
    a === 10 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0 && p[2] === 0) ||
    (a === 198 && (b === 18 || b === 19)) ||
    a >= 224
  ) {
    return 'forbidden';
  }
  return 'public';
}

/** The eight 16-bit groups of an IPv6 literal (an embedded dotted IPv4 tail included), or null. */
function ipv6Groups(host: string): number[] | null {
  let text = host;
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1] && dotted[2]) {
    const v4 = ipv4Parts(dotted[2]);
    if (!v4) return null;
    const [a = 0, b = 0, c = 0, d = 0] = v4;
    text = `${dotted[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string) =>
    part === '' ? [] : part.split(':').map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : Number.NaN));
  const head = parse(halves[0] ?? '');
  const tail = halves.length === 2 ? parse(halves[1] ?? '') : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return null;
  const groups = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g)) ? groups : null;
}

export function classifyIPv6(host: string): AddressClass | null {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (!h.includes(':')) return null;
  const g = ipv6Groups(h);
  if (!g) return 'forbidden';
  const [g0 = 0, g1 = 0, , , , g5 = 0, g6 = 0, g7 = 0] = g;
  const v4 = `${g6 >> 8}.${g6 & 255}.${g7 >> 8}.${g7 & 255}`;
  const zeroPrefix = g.slice(0, 5).every((x) => x === 0);
  if (zeroPrefix && g5 === 0 && g6 === 0 && g7 === 1) return 'loopback';
  // IPv4-mapped (::ffff:a.b.c.d) is the IPv4 address; IPv4-compatible (::a.b.c.d) and NAT64
  // (64:ff9b::/96) could reach any IPv4 address, so they are refused outright.
  if (zeroPrefix && g5 === 0xffff) return classifyIPv4(v4);
  if (zeroPrefix && g5 === 0) return 'forbidden';
  if (g0 === 0x64 && g1 === 0xff9b) return 'forbidden';
  if ((g0 & 0xfe00) === 0xfc00 || (g0 & 0xffc0) === 0xfe80 || (g0 & 0xff00) === 0xff00) return 'forbidden';
  if (g0 === 0x2001 && g1 === 0x0db8) return 'forbidden';
  return 'public';
}

/** Classifies a URL's host as far as can be told without DNS. `localhost` names count as loopback. */
export function classifyHost(hostname: string): AddressClass {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback';
  if (host === 'metadata.google.internal') return 'forbidden';
  return classifyIPv4(host) ?? classifyIPv6(host) ?? 'public';
}

/**
 * Why Kiln must not contact a host, or null when it may: forbidden addresses never, loopback only
 * where the deployment allows it (development). The Worker applies it to URLs before it stores
 * them; the processor applies it again to every address DNS returns.
 *
 * @example outboundRefusal('10.0.0.5', { allowLoopback: true }) // 'forbidden'
 */
export function outboundRefusal(hostname: string, opts: { allowLoopback: boolean }): 'forbidden' | 'loopback' | null {
  const host = classifyHost(hostname);
  if (host === 'public' || (host === 'loopback' && opts.allowLoopback)) return null;
  return host;
}
