import type { FastifyInstance } from 'fastify';
import ipaddr from 'ipaddr.js';

/**
 * The key every per-address limit counts under (failed authentications, sign-ups, login attempts,
 * audit signals). An IPv4 address is its own key. An IPv6 client usually holds a whole /64 and its
 * addresses rotate within it (privacy extensions), so IPv6 addresses are counted per network of
 * `ipv6PrefixLength` bits, written `2001:db8:1:2::/64`. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`,
 * what a dual-stack socket reports for an IPv4 peer) is the IPv4 address it maps.
 */
export function addressKey(ip: string, ipv6PrefixLength: number): string {
  if (!ip.includes(':')) return ip;
  const bare = ip.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (!ipaddr.IPv6.isValid(bare)) return ip;
  const v6 = ipaddr.IPv6.parse(bare);
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  if (ipv6PrefixLength >= 128) return v6.toString();
  const parts = v6.parts.map((part, i) => {
    const bitsKept = Math.min(16, Math.max(0, ipv6PrefixLength - i * 16));
    return bitsKept === 0 ? 0 : part & ((0xffff << (16 - bitsKept)) & 0xffff);
  });
  return `${new ipaddr.IPv6(parts).toString()}/${ipv6PrefixLength}`;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The client's address as per-address limits count it (see `addressKey`). */
    readonly addressKey: string;
  }
}

/** Adds `request.addressKey`, derived from `request.ip` (which honours `trustProxy`) when first read. */
export function decorateAddressKey(app: FastifyInstance, ipv6PrefixLength: number): void {
  app.decorateRequest('addressKey', {
    getter() {
      return addressKey(this.ip, ipv6PrefixLength);
    },
  });
}
