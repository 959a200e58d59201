import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressKey } from '../../src/http/client-address.js';
import { call } from '../accounts/http.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

describe('addressKey', () => {
  it('keeps IPv4, unwraps IPv4-mapped IPv6 and masks IPv6 to the prefix', () => {
    expect(addressKey('198.51.100.7', 64)).toBe('198.51.100.7');
    expect(addressKey('::ffff:198.51.100.7', 64)).toBe('198.51.100.7');
    expect(addressKey('::ffff:c633:6407', 64)).toBe('198.51.100.7');
    expect(addressKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd', 64)).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:DB8:1:2::1', 64)).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2ff::1', 56)).toBe('2001:db8:1:200::/56');
    expect(addressKey('2001:db8:1:2::1', 128)).toBe('2001:db8:1:2::1');
    expect(addressKey('fe80::1%eth0', 64)).toBe('fe80::/64');
    expect(addressKey('not an address', 64)).toBe('not an address');
  });
});

/**
 * An IPv6 client holds a whole /64: every per-address limit counts it as one client, whatever address
 * of its network it uses. The gateway sits behind a trusted proxy here, which reports the client's
 * IPv6 address in X-Forwarded-For, as in production.
 */
describe('per-address limits count an IPv6 client per network', () => {
  let gw: TestGateway;
  let wide: TestGateway;
  const ADMIN = 'operator-token-for-ipv6-tests';
  const from = (ip: string) => ({ 'x-forwarded-for': ip });
  beforeAll(async () => {
    gw = await startTestGateway({
      config: { trustProxy: '127.0.0.1', limits: { signupsPerMinute: 3, authFailuresPerMinute: 6 } },
    });
    wide = await startTestGateway({
      config: {
        trustProxy: '127.0.0.1',
        limits: { signupsPerMinute: 3, authFailuresPerMinute: 3, ipv6PrefixLength: 48 },
      },
      env: { SIMO_ADMIN_TOKEN: ADMIN },
    });
  });
  afterAll(async () => {
    await wide?.stop();
    await gw?.stop();
  });

  const signUp = (base: string, ip: string, n: string) =>
    call(base, 'POST', '/register', {
      json: { email: `v6-${n}-${Date.now()}@example.com`, password: 'a long enough password' },
      headers: { ...from(ip), accept: 'application/json' },
    });

  it('sign-ups: rotating addresses within one /64 share the limit; another /64 does not', async () => {
    const statuses = [];
    for (const [i, ip] of [
      '2001:db8:aa:1::1',
      '2001:db8:aa:1::2',
      '2001:db8:aa:1::abcd:1',
      '2001:db8:aa:1:ffff:ffff:ffff:fffe',
    ].entries())
      statuses.push((await signUp(gw.url, ip, `net-${i}`)).status);
    expect(statuses).toEqual([201, 201, 201, 429]);
    expect((await signUp(gw.url, '2001:db8:aa:2::1', 'other')).status).toBe(201);
  });

  it('sign-ups: an IPv4-mapped IPv6 address is the IPv4 client', async () => {
    const statuses = [];
    for (const [i, ip] of ['203.0.113.9', '::ffff:203.0.113.9', '::ffff:cb00:7109', '203.0.113.9'].entries())
      statuses.push((await signUp(gw.url, ip, `v4-${i}`)).status);
    expect(statuses).toEqual([201, 201, 201, 429]);
  });

  it('failed API keys: the guard refuses the whole /64, valid keys included', async () => {
    const { apiKey } = await gw.signUp();
    const statuses = [];
    for (let i = 1; i <= 7; i++) {
      const res = await call(gw.url, 'GET', '/v1/models', {
        key: 'sk-simo-wrong',
        headers: from(`2001:db8:bb:1::${i}`),
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 429]);
    const valid = await call(gw.url, 'GET', '/v1/models', {
      key: apiKey,
      headers: from('2001:db8:bb:1::99'),
    });
    expect(valid.status).toBe(429);
    const elsewhere = await call(gw.url, 'GET', '/v1/models', {
      key: apiKey,
      headers: from('2001:db8:bb:2::1'),
    });
    expect(elsewhere.status).toBe(200);
  });

  it('login throttle: wrong passwords from rotating addresses count for the network', async () => {
    const user = await gw.signUp();
    const login = (ip: string, password: string) =>
      call(gw.url, 'POST', '/login', { json: { email: user.email, password }, headers: from(ip) });
    const statuses = [];
    for (let i = 1; i <= 5; i++) statuses.push((await login(`2001:db8:cc:1::${i}`, `wrong ${i}`)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    // Below the address guard's 6, so this is the per-email throttle refusing the network.
    const locked = await login('2001:db8:cc:1:ffff::1', user.password);
    expect(locked.status).toBe(429);
    expect(locked.body.error.message).toMatch(/sign-in attempts/);
    expect((await login('2001:db8:cc:2::1', user.password)).status).toBe(200);
  });

  it('the prefix length is configurable (limits.ipv6PrefixLength)', async () => {
    const statuses = [];
    // Four different /64s inside one /48.
    for (const net of ['1', '2', '3', '4'])
      statuses.push((await signUp(wide.url, `2001:db8:dd:${net}::1`, `wide-${net}`)).status);
    expect(statuses).toEqual([201, 201, 201, 429]);
    expect((await signUp(wide.url, '2001:db8:de:1::1', 'wide-other')).status).toBe(201);
  });

  it('wrong operator tokens are throttled per address too', async () => {
    const op = (token: string, ip: string) =>
      call(wide.url, 'GET', '/operator/tenants', { key: token, headers: from(ip) });
    const statuses = [];
    for (let i = 1; i <= 3; i++)
      statuses.push((await op(`wrong-token-${i}-xxxxxxxx`, `2001:db8:ee:${i}::1`)).status);
    expect(statuses).toEqual([401, 401, 401]);
    const locked = await op(ADMIN, '2001:db8:ee:9::1');
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe('rate_limit_exceeded');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await op(ADMIN, '198.51.100.1')).status).toBe(200);
  });
});
