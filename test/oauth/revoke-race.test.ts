/**
 * Revoking one connected app from several requests at once, on PostgreSQL: it is revoked once, with
 * one audit entry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../accounts/http.js';
import type { TestGateway } from '../support/gateway.js';
import { authorizedCode, browse, signIn, startIssuerOnPostgres, tokenRequest } from './oauth-http.js';

let gw: TestGateway;
let base = '';

beforeAll(async () => {
  gw = await startIssuerOnPostgres();
  base = gw.url;
});
afterAll(async () => gw?.stop());

describe('revoking a connected app', () => {
  it('records one revocation when the member revokes it several times at once', async () => {
    const user = await gw.signUp();
    const token = await tokenRequest(base, (await authorizedCode(base, user)).exchange);
    expect(token.status).toBe(200);
    const { jar, csrf } = await signIn(base, user);
    const html = await (await browse(jar, `${base}/dashboard/apps`)).text();
    const id = /data-app-id="(oag_[A-Za-z0-9]+)"/.exec(html)?.[1];
    expect(id, html).toBeDefined();
    await Promise.all(
      Array.from({ length: 6 }, () =>
        browse(jar, `${base}/dashboard/apps/${id}/revoke`, { form: { _csrf: csrf } }),
      ),
    );
    const audit = await call(base, 'GET', '/admin/audit', { key: user.apiKey });
    const revoked = audit.body.data.filter((e: { action: string }) => e.action === 'oauth.app_revoked');
    expect(revoked).toHaveLength(1);
    expect((await call(base, 'GET', '/v1/models', { key: token.body.access_token })).status).toBe(401);
  });
});
