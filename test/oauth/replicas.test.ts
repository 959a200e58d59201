/**
 * Two replicas sharing PostgreSQL and Redis: a token checked (and cached) on one replica is refused
 * there the moment it is revoked on the other, for a revoked access token and for a revoked
 * authorization (the refresh token revoked, RFC 7009).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomBase62 } from '../../src/shared/ids.js';
import { call } from '../accounts/http.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { freePort } from '../support/free-port.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { describeWith, serviceAvailable, TEST_REDIS_URL } from '../support/services.js';
import { authorizedCode, tokenRequest } from './oauth-http.js';

const pgAvailable = await serviceAvailable('pg');

await describeWith('redis', 'OAuth tokens on two replicas sharing Redis', () => {
  let database: TestDatabase;
  let a: TestGateway;
  let b: TestGateway;
  let issuer = '';

  beforeAll(async () => {
    if (!pgAvailable) return;
    database = await createTestDatabase('postgres');
    const [portA, portB] = [await freePort(), await freePort()];
    issuer = `http://127.0.0.1:${portA}`;
    // One public URL (the issuer) for both, as behind a load balancer.
    const shared = {
      database,
      config: { redis: { keyPrefix: `test:${randomBase62(10)}:` } },
    };
    a = await startTestGateway({
      ...shared,
      env: { SIMO_REDIS_URL: TEST_REDIS_URL, PORT: String(portA), SIMO_PUBLIC_URL: issuer },
    });
    b = await startTestGateway({
      ...shared,
      env: { SIMO_REDIS_URL: TEST_REDIS_URL, PORT: String(portB), SIMO_PUBLIC_URL: issuer },
    });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await database?.drop();
  });

  const tokens = async () => {
    const user = await a.signUp();
    const { clientId, exchange } = await authorizedCode(issuer, user);
    const res = await tokenRequest(b.url, exchange);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return {
      clientId,
      access: res.body.access_token as string,
      refresh: res.body.refresh_token as string,
    };
  };
  const revoke = (token: string, clientId: string) =>
    fetch(`${a.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, client_id: clientId }).toString(),
    });

  it.skipIf(!pgAvailable)('a revoked access token is refused by the other replica at once', async () => {
    const t = await tokens();
    expect((await call(b.url, 'GET', '/v1/models', { key: t.access })).status).toBe(200);
    expect((await revoke(t.access, t.clientId)).status).toBe(200);
    expect((await call(b.url, 'GET', '/v1/models', { key: t.access })).status).toBe(401);
  });

  it.skipIf(!pgAvailable)('revoking the refresh token ends the authorization on every replica', async () => {
    const t = await tokens();
    expect((await call(b.url, 'GET', '/v1/models', { key: t.access })).status).toBe(200);
    expect((await revoke(t.refresh, t.clientId)).status).toBe(200);
    expect((await call(b.url, 'GET', '/v1/models', { key: t.access })).status).toBe(401);
    const refreshed = await tokenRequest(b.url, {
      grant_type: 'refresh_token',
      refresh_token: t.refresh,
      client_id: t.clientId,
    });
    expect(refreshed.body.error).toBe('invalid_grant');
  });
});
