/**
 * The consent form submitted several times at once (a double click), on PostgreSQL: one submission
 * goes on to the app, the others see the request is gone, and the organization has one connected app.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../support/gateway.js';
import {
  authorizeUrl,
  browse,
  follow,
  pkce,
  registerClient,
  signIn,
  startIssuerOnPostgres,
} from './oauth-http.js';

let gw: TestGateway;
let base = '';
beforeAll(async () => {
  gw = await startIssuerOnPostgres();
  base = gw.url;
});
afterAll(async () => gw?.stop());

describe('consent', () => {
  it('approving twice at once connects the app once', async () => {
    const user = await gw.signUp();
    const client = await registerClient(base);
    const { jar, csrf } = await signIn(base, user);
    const page = await follow(
      jar,
      base,
      await browse(jar, authorizeUrl(base, { clientId: client.client_id, challenge: pkce().challenge })),
    );
    if (page instanceof URL) throw new Error('no page');
    const pageUrl = new URL(page.url);
    const html = await page.text();
    const offered = [...html.matchAll(/name="scope" value="([^"]+)"/g)].map((m) => m[1]!);
    const res = await Promise.all(
      Array.from({ length: 4 }, () =>
        browse(jar, `${pageUrl.origin}${pageUrl.pathname}/confirm`, {
          form: { _csrf: csrf, scope: offered },
        }),
      ),
    );
    const statuses = res.map((r) => r.status).sort();
    expect(statuses).toEqual([303, 410, 410, 410]);
    // A submission that comes after the first one finished is refused the same way.
    const late = await browse(jar, `${pageUrl.origin}${pageUrl.pathname}/confirm`, {
      form: { _csrf: csrf, scope: offered },
    });
    expect(late.status).toBe(410);
    const apps = await (await browse(jar, `${base}/dashboard/apps`)).text();
    const ids = [...apps.matchAll(/data-app-id="(oag_[A-Za-z0-9]+)"/g)].map((m) => m[1]);
    expect(ids).toHaveLength(1);
  });
});
