import { isIPv4, isIPv6 } from 'node:net';

/**
 * The rate-limit identity of a client address. IPv4 addresses stand for
 * themselves (IPv4-mapped IPv6 included); an IPv6 client usually owns a whole
 * /56 or /64, so it is keyed by its /56 and cannot dodge limits by rotating
 * addresses inside its own prefix.
 */
export function clientKey(ip: string | undefined): string {
  if (!ip) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (isIPv4(ip)) return ip;
  const bare = ip.split('%')[0]!;
  if (!isIPv6(bare)) return 'unknown';
  const groups = expandIPv6(bare);
  const fourth = (groups[3]! & 0xff00).toString(16);
  return `${groups.slice(0, 3).map((g) => g.toString(16)).join(':')}:${fourth}::/56`;
}

function expandIPv6(ip: string): number[] {
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  // An embedded IPv4 tail (e.g. 64:ff9b::1.2.3.4) counts as two groups.
  const groups = (part: string | undefined) =>
    (part ? part.split(':') : []).flatMap((p) => {
      if (!p.includes('.')) return [parseInt(p, 16)];
      const [a, b, c, d] = p.split('.').map(Number) as [number, number, number, number];
      return [(a << 8) | b, (c << 8) | d];
    });
  const left = groups(head);
  const right = groups(tail);
  const zeros = tail === undefined ? [] : new Array<number>(8 - left.length - right.length).fill(0);
  return [...left, ...zeros, ...right];
}

/**
 * Whether an address is loopback, private, link-local or otherwise not a public internet host
 * (unspecified, CGNAT, unique-local IPv6, IPv4-mapped forms of those): what WEBHOOK_DENY_PRIVATE refuses.
 */
export function isPrivateAddress(ip: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const v4 = mapped ? mapped[1]! : ip;
  if (isIPv4(v4)) {
    const [a, b] = v4.split('.').map(Number) as [number, number];
    return a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || a >= 224;
  }
  const bare = ip.split('%')[0]!;
  if (!isIPv6(bare)) return true;
  const g = expandIPv6(bare);
  if (g.every((x) => x === 0) || (g.slice(0, 7).every((x) => x === 0) && g[7] === 1)) return true;
  const first = g[0]!;
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00;
}
