/**
 * Agent-driven sign-up, end to end: the official MCP client with its OAuth client provider starts
 * from nothing but the MCP URL, meets the 401, discovers both metadata documents, registers itself,
 * and sends its user to the authorization URL in Chromium, where a new person signs up and approves.
 * The client exchanges the code, lists and calls the tools (metered to the new tenant), the same
 * token works with the openai SDK, the client refreshes, and after the person revokes the app in
 * the dashboard the client is refused.
 */

import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { auth, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import OpenAI from 'openai';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { call } from '../accounts/http.js';
import { collectPageErrors, launchChromium, screenshot } from '../portal/browser-support.js';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { startTestGatewayAt, type TestGateway } from '../support/gateway.js';
import { describeWith } from '../support/services.js';

vi.setConfig({ testTimeout: 90_000 });

const MODEL = 'qwen/qwen3-8b';
const CALLBACK = 'http://127.0.0.1:9/mcp-callback';

/** The client side of the flow as an MCP host keeps it: in memory, the browser opened by the test. */
class InMemoryOAuthClient implements OAuthClientProvider {
  client?: OAuthClientInformationMixed;
  saved?: OAuthTokens;
  verifier = '';
  authorizationUrl?: URL;
  discovered = false;

  get redirectUrl() {
    return CALLBACK;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'Chromium MCP agent',
      redirect_uris: [CALLBACK],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

await describeWith('browser', 'agent-driven sign-up with the MCP SDK and Chromium', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let browser: Browser;
  let base = '';

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    gw = await startTestGatewayAt((_port, url) => ({
      env: { SIMO_PUBLIC_URL: url },
      config: {
        providers: [{ id: 'up', type: 'openai-compatible', baseUrl: upstream.v1 }],
        models: [
          {
            id: MODEL,
            ownedBy: 'qwen',
            pricing: { inputPerMTok: 10, outputPerMTok: 20 },
            routes: [{ provider: 'up' }],
          },
        ],
      },
    }));
    base = gw.url;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await upstream?.stop();
  });

  it('takes a new user from the MCP URL to a working, metered, revocable token', async () => {
    const mcpUrl = new URL(`${base}/mcp`);
    const provider = new InMemoryOAuthClient();
    const seen: string[] = [];
    const fetchFn: typeof fetch = async (input, init) => {
      seen.push(new URL(input instanceof Request ? input.url : String(input)).pathname);
      return fetch(input, init);
    };
    const connect = async () => {
      const client = new Client({ name: 'agent-signup-test', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider, fetch: fetchFn }),
      );
      return client;
    };

    // 1. Nothing but the URL: a 401, discovery, registration, then the user must authorize.
    await expect(connect()).rejects.toBeInstanceOf(UnauthorizedError);
    expect(seen).toEqual(
      expect.arrayContaining([
        '/mcp',
        '/.well-known/oauth-protected-resource/mcp',
        '/.well-known/oauth-authorization-server',
        '/oauth/register',
      ]),
    );
    const authorizationUrl = provider.authorizationUrl;
    expect(authorizationUrl?.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizationUrl?.searchParams.get('resource')).toBe(`${base}/mcp`);

    // 2. The user signs up on the authorization page and approves.
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    let code: string | null = null;
    await page.route(`${CALLBACK}**`, async (route) => {
      code = new URL(route.request().url()).searchParams.get('code');
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'You can close this window.' });
    });
    await page.goto(String(authorizationUrl));
    expect(await page.locator('[data-testid="oauth-client"]').textContent()).toBe('Chromium MCP agent');
    const email = `agent-${Date.now()}@example.com`;
    await page.locator('#signup-email').fill(email);
    await page.locator('#signup-password').fill('correct horse battery staple');
    await page.getByRole('button', { name: 'Create account and continue' }).click();
    await page.locator('#oauth-consent').waitFor();
    expect(await page.locator('[data-testid="oauth-email"]').textContent()).toBe(email);
    await screenshot(page, 'oauth-consent');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(`${CALLBACK}**`);
    expect(code).toBeTruthy();

    // 3. The client exchanges the code and uses the tools.
    await (
      new StreamableHTTPClientTransport(mcpUrl, {
        authProvider: provider,
        fetch: fetchFn,
      }) as StreamableHTTPClientTransport
    ).finishAuth(code!);
    const token = provider.saved?.access_token;
    expect(token).toBeTruthy();
    const client = await connect();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('chat_completion');
    const answer = await client.callTool({
      name: 'chat_completion',
      arguments: { model: MODEL, prompt: 'Hello' },
    });
    expect(answer.isError ?? false).toBe(false);

    // 4. The same token with the openai SDK; both calls metered to the new tenant, which has trial credits.
    const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: token!, maxRetries: 0 });
    const chat = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(chat.choices[0]?.message.content).toBeTruthy();
    await gw.server.container.meter.flush();
    const usage = await call(base, 'GET', '/admin/usage', { key: token! });
    expect(usage.status).toBe(200);
    expect(usage.body.data.reduce((n: number, r: { requests: number }) => n + r.requests, 0)).toBe(2);
    const balance = await call(base, 'GET', '/admin/balance', { key: token! });
    expect(Number(balance.body.balance)).toBeLessThan(5);
    expect(Number(balance.body.balance)).toBeGreaterThan(4.9);

    // 5. The client refreshes: a new access token, which works.
    expect(await auth(provider, { serverUrl: mcpUrl, fetchFn })).toBe('AUTHORIZED');
    expect(provider.saved?.access_token).not.toBe(token);
    const refreshed = await connect();
    expect((await refreshed.listTools()).tools.length).toBeGreaterThan(0);
    expect((await call(base, 'GET', '/v1/models', { key: token! })).status).toBe(200);

    // 6. The user revokes the app in the dashboard; the client is refused from then on.
    await page.goto(`${base}/dashboard/apps`);
    const row = page.locator('[data-testid="apps-table"] tbody tr', { hasText: 'Chromium MCP agent' });
    await expect.poll(() => row.count()).toBe(1);
    await row.getByRole('button', { name: /Revoke/ }).click();
    await page.locator('#apps-notice').waitFor();
    expect(await page.locator('[data-testid="apps-table"]').textContent()).not.toContain(
      'Chromium MCP agent',
    );
    const after = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${provider.saved?.access_token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(after.status).toBe(401);
    await expect(refreshed.listTools()).rejects.toThrow();
    const audit = await page.goto(`${base}/dashboard/audit`);
    expect(audit?.status()).toBe(200);
    const auditText = await page.locator('main').textContent();
    expect(auditText).toContain('oauth.app_authorized');
    expect(auditText).toContain('oauth.app_revoked');
    expect(errors).toEqual([]);
    await context.close();
  });
});
