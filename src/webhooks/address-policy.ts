import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which webhook targets are allowed. Only public unicast addresses pass: everything else (loopback,
 * private, CGNAT, link-local incl. cloud metadata, unique-local, multicast, reserved, IPv4-mapped or
 * IPv4-embedding IPv6 forms of those) is refused unless the operator allows private targets.
 */

/** Why an address was refused, or null when it is a public unicast address. */
export function refusedAddressReason(address: string): string | null {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (!ipaddr.isValid(bare) || isIP(bare) === 0) return 'not an IP address';
  let ip = ipaddr.parse(bare);
  if (ip.kind() === 'ipv6') {
    const v6 = ip as ipaddr.IPv6;
    // ::ffff:a.b.c.d reaches the IPv4 host a.b.c.d: judge that address.
    if (v6.isIPv4MappedAddress()) ip = v6.toIPv4Address();
  }
  const range = ip.range();
  if (range !== 'unicast') return rangeLabel(range);
  if (ip.kind() === 'ipv6') {
    // Only global unicast (2000::/3) is reachable on the internet; the rest (e.g. the deprecated
    // IPv4-compatible ::a.b.c.d form) is refused.
    const first = (ip as ipaddr.IPv6).parts[0] ?? 0;
    if ((first & 0xe000) !== 0x2000) return 'reserved';
  }
  return null;
}

function rangeLabel(range: string): string {
  switch (range) {
    case 'loopback':
      return 'loopback';
    case 'private':
      return 'private';
    case 'carrierGradeNat':
      return 'carrier-grade NAT';
    case 'linkLocal':
      return 'link-local';
    case 'uniqueLocal':
      return 'unique-local';
    case 'unspecified':
      return 'unspecified';
    case 'multicast':
      return 'multicast';
    case 'broadcast':
      return 'broadcast';
    default:
      return 'reserved';
  }
}

/** A refused target, phrased for the API caller. */
export class TargetRefusedError extends Error {
  override name = 'TargetRefusedError';
}

/**
 * The one answer for every target refused for where it leads (localhost, a non-public address, a name
 * resolving to one, a name that does not resolve): distinct answers would let a tenant map the
 * internal network and its DNS through the platform. Only URL shape errors are told apart.
 */
export const NOT_PUBLIC_TARGET = 'the host must resolve to public internet addresses only';

const notPublic = () => new TargetRefusedError(NOT_PUBLIC_TARGET);

/** Host names that always mean this machine, whatever DNS says. */
const LOCAL_NAMES = /(^|\.)localhost\.?$|^localhost\.localdomain$/i;

/**
 * Parses and checks a webhook URL's shape: http(s) only, no credentials, and (unless private targets
 * are allowed) no local host names or non-public IP literals. `new URL` already normalises decimal,
 * hex and octal IPv4 forms (`http://2130706433/` → 127.0.0.1), so the literal check sees the real address.
 */
export function parseWebhookUrl(raw: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetRefusedError('must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TargetRefusedError('only http and https URLs are accepted');
  if (url.username || url.password) throw new TargetRefusedError('must not contain credentials');
  if (!url.hostname) throw new TargetRefusedError('must name a host');
  if (allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (LOCAL_NAMES.test(host)) throw notPublic();
  if (isIP(host) && refusedAddressReason(host)) throw notPublic();
  return url;
}

/** Resolves a host name, the way the sender will. Injected in tests to avoid the network. */
export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/**
 * Full creation-time check: the URL's shape, then every address its host resolves to. A name that
 * resolves to any non-public address is refused, since the connection could go to any of them.
 */
export async function checkWebhookTarget(
  raw: string,
  allowPrivate: boolean,
  resolve: Resolver = systemResolver,
): Promise<URL> {
  const url = parseWebhookUrl(raw, allowPrivate);
  if (allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return url;
  let addresses: Array<{ address: string; family: number }>;
  try {
    addresses = await resolve(host);
  } catch {
    throw notPublic();
  }
  if (addresses.length === 0 || addresses.some(({ address }) => refusedAddressReason(address)))
    throw notPublic();
  return url;
}
