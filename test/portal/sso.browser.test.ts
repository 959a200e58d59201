/**
 * Dashboard single sign-on in a real Chromium against a real OpenID provider in process
 * (oidc-provider): a person of an allowed domain who is no member yet signs in through the provider
 * and becomes a member of the configured organization, just in time, with the default role.
 */
import type { Server } from 'node:http';
import Provider from 'oidc-provider';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { call, loginJson } from '../accounts/http.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { freePort } from '../support/free-port.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { describeWith } from '../support/services.js';
import { launchChromium } from './browser-support.js';

vi.setConfig({ testTimeout: 60_000 });

await describeWith('browser', 'single sign-on with OpenID Connect in Chromium', () => {
  let database: TestDatabase;
  let gw: TestGateway;
  let op: Server;
  let browser: Browser;
  let base = '';
  let tenantId = '';
  let owner = { email: '', password: '' };

  beforeAll(async () => {
    const [port, opPort] = [await freePort(), await freePort()];
    base = `http://127.0.0.1:${port}`;
    const issuer = `http://127.0.0.1:${opPort}`;
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: 'simosphere',
          client_secret: 'simosphere-test-secret',
          redirect_uris: [`${base}/login/sso/callback`],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_post',
        },
      ],
      // The dev login form's "login" is the account id; the tests use an email as it.
      findAccount: async (_ctx: unknown, id: string) => ({
        accountId: id,
        claims: async () => ({ sub: id, email: id, email_verified: true }),
      }),
      claims: { openid: ['sub'], email: ['email', 'email_verified'] },
      cookies: { keys: ['oidc-test-cookie-key'] },
    });
    op = provider.listen(opPort, '127.0.0.1');

    // The organization people join by SSO exists first: sign its owner up, then serve with `sso` set.
    database = await createTestDatabase(process.env.SIMO_TEST_DIALECT === 'postgres' ? 'postgres' : 'sqlite');
    const env = { PORT: String(port), SIMO_PUBLIC_URL: base };
    const first = await startTestGateway({ database, env });
    const signedUp = await first.signUp('owner@corp.test');
    owner = { email: signedUp.email, password: signedUp.password };
    tenantId = signedUp.tenantId;
    await first.stop();
    gw = await startTestGateway({
      database,
      env,
      config: {
        sso: {
          issuer,
          clientId: 'simosphere',
          clientSecret: 'simosphere-test-secret',
          name: 'Corp SSO',
          allowedDomains: ['corp.test'],
          defaultRole: 'developer',
          organization: tenantId,
          allowInsecureIssuer: true,
        },
      },
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await database?.drop();
    await new Promise<void>((resolve) => (op ? op.close(() => resolve()) : resolve()));
  });

  const signInThroughProvider = async (email: string) => {
    const context = await browser.newContext({ baseURL: base });
    const page = await context.newPage();
    await page.goto('/login');
    await page.getByRole('link', { name: 'Sign in with Corp SSO' }).click();
    await page.locator('input[name="login"]').fill(email);
    await page.locator('input[name="password"]').fill('anything');
    await page.locator('button[type="submit"]').click();
    // The provider asks for consent once per client.
    await page.waitForURL((url) => url.href.startsWith(base) || /interaction/.test(url.pathname));
    if (!page.url().startsWith(base)) await page.locator('button[type="submit"]').click();
    await page.waitForURL((url) => url.href.startsWith(base));
    return page;
  };

  it('creates the member just in time with the default role, and audits it', async () => {
    const page = await signInThroughProvider('dana@corp.test');
    await page.waitForURL('**/dashboard');
    expect(await page.locator('[data-testid="viewer-email"]').textContent()).toBe('dana@corp.test');
    expect(await page.locator('[data-testid="viewer-role"]').textContent()).toBe('developer');

    const session = await loginJson(gw.url, owner.email, owner.password);
    const members = await call(gw.url, 'GET', '/admin/members', session);
    expect(members.body.data).toContainEqual(
      expect.objectContaining({ email: 'dana@corp.test', role: 'developer', status: 'active' }),
    );
    const audit = await call(gw.url, 'GET', '/admin/audit', session);
    const actions = audit.body.data.map((e: { action: string }) => e.action);
    expect(actions).toContain('member.joined');
    expect(actions).toContain('auth.sso_login');
  });

  it('refuses addresses outside the allowed domains', async () => {
    const page = await signInThroughProvider('eve@elsewhere.test');
    await page.waitForURL('**/login?error=sso_denied');
    expect(await page.locator('#form-error').textContent()).toContain('not allowed');
  });
});
