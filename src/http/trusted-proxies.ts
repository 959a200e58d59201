import proxyAddr from '@fastify/proxy-addr';

/** Whether the hop at `address` is a proxy whose `X-Forwarded-For` we believe. */
export type TrustedProxy = (address: string, hop: number) => boolean;

/**
 * The `trustProxy` setting as one function (false: trust no one), handed both to Fastify, which
 * derives `request.ip` from it, and to the connection guard, which must know which sockets are
 * proxies, so the two can never disagree. Strings are comma-separated addresses, CIDRs, or
 * `loopback` / `linklocal` / `uniquelocal`, as Fastify reads them.
 */
export function trustedProxies(setting: boolean | string): TrustedProxy | false {
  if (setting === false) return false;
  if (setting === true) return () => true;
  return proxyAddr.compile(
    setting
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
}
