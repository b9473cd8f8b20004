/**
 * Recognises addresses a job must never reach (SPEC §7): loopback, private, link-local (cloud
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

export function classifyIPv6(host: string): AddressClass | null {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (!h.includes(':')) return null;
  if (h === '::1') return 'loopback';
  if (h === '::') return 'forbidden';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (mapped?.[1]) return classifyIPv4(mapped[1]);
  if (/^(fc|fd|fe[89ab]|ff)/.test(h) || h.startsWith('64:ff9b:') || h.startsWith('2001:db8:')) return 'forbidden';
  return 'public';
}

/** Classifies a URL's host as far as can be told without DNS. `localhost` names count as loopback. */
export function classifyHost(hostname: string): AddressClass {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback';
  if (host === 'metadata.google.internal') return 'forbidden';
  return classifyIPv4(host) ?? classifyIPv6(host) ?? 'public';
}
