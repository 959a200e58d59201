/**
 * The OAuth 2.1 authorization server from the outside: metadata, dynamic registration, authorization
 * code with PKCE, resource indicators, refresh rotation with reuse detection, revocation, and the
 * access token accepted exactly where a key with its scopes would be, for its own tenant only.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, loginJson } from '../accounts/http.js';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { type SignedUp, startTestGatewayAt, type TestGateway } from '../support/gateway.js';
import { linkIn, type SmtpSink, startSmtpSink } from '../support/smtp-sink.js';
import {
  authorize,
  authorizedCode,
  authorizeUrl,
  browse,
  pkce,
  REDIRECT_URI,
  registerClient,
  signIn,
  tokenRequest,
} from './oauth-http.js';

const MODEL = 'qwen/qwen3-8b';
const ADMIN_TOKEN = 'operator-token-0123456789abcdef';

let upstream: FakeUpstream;
let smtp: SmtpSink;
let gw: TestGateway;
let base = '';

beforeAll(async () => {
  upstream = await startFakeUpstream();
  smtp = await startSmtpSink();
  gw = await startTestGatewayAt((_port, url) => ({
    env: {
      SIMO_ADMIN_TOKEN: ADMIN_TOKEN,
      SIMO_PUBLIC_URL: url,
      SIMO_SMTP_URL: smtp.url,
    },
    config: {
      providers: [{ id: 'up', type: 'openai-compatible', baseUrl: upstream.v1 }],
      models: [{ id: MODEL, ownedBy: 'qwen', routes: [{ provider: 'up' }] }],
      // Mail is here for invitations; sign-ups get their trial credits without a verified address, as before.
      signup: { requireVerifiedEmail: false },
    },
  }));
  base = gw.url;
});
afterAll(async () => {
  await gw?.stop();
  await upstream?.stop();
  await smtp?.close();
});

/** A member's token for a fresh client, with the scopes approved. */
async function tokenFor(
  user: SignedUp,
  opts: { scope?: string; approve?: string[]; resource?: string } = {},
) {
  const resource = opts.resource ?? `${base}/mcp`;
  const { clientId, code, verifier, exchange } = await authorizedCode(base, user, { ...opts, resource });
  const res = await tokenRequest(base, exchange);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return {
    clientId,
    code,
    verifier,
    resource,
    ...(res.body as { access_token: string; refresh_token: string; scope: string }),
  };
}

describe('metadata', () => {
  it('serves RFC 8414 metadata at the root well-known path, listed by every RFC 9728 document', async () => {
    const res = await fetch(`${base}/.well-known/oauth-authorization-server`);
    expect(res.status).toBe(200);
    const meta = (await res.json()) as Record<string, unknown>;
    expect(meta.issuer).toBe(base);
    expect(meta.authorization_endpoint).toBe(`${base}/oauth/authorize`);
    expect(meta.token_endpoint).toBe(`${base}/oauth/token`);
    expect(meta.registration_endpoint).toBe(`${base}/oauth/register`);
    expect(meta.revocation_endpoint).toBe(`${base}/oauth/revoke`);
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect(meta.response_types_supported).toEqual(['code']);
    expect(meta.grant_types_supported).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token']),
    );
    expect(meta.grant_types_supported).not.toContain('implicit');
    expect(meta.grant_types_supported).not.toContain('password');
    expect(meta.scopes_supported).toEqual(expect.arrayContaining(['inference', 'keys', 'usage:read']));
    for (const suffix of ['', '/v1', '/mcp', '/a2a']) {
      const prm = (await (
        await fetch(`${base}/.well-known/oauth-protected-resource${suffix}`)
      ).json()) as Record<string, unknown>;
      expect(prm.authorization_servers).toEqual([base]);
      expect(prm.resource).toBe(`${base}${suffix}`);
    }
  });

  it('points a 401 on /mcp at the path-scoped resource metadata', async () => {
    const res = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`,
    );
  });
  it('answers a path the authorization server does not serve with the JSON 404 envelope', async () => {
    const paths = [
      ['POST', '/oauth/introspect'],
      ['GET', '/oauth/userinfo'],
      ['GET', '/oauth/no-such-endpoint'],
      ['POST', '/oauth/jwks'],
    ] as const;
    for (const [method, path] of paths) {
      const res = await fetch(`${base}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers.get('content-type')).toContain('application/json');
      expect(await res.json()).toEqual({
        error: {
          message: `No route for ${method} ${path}.`,
          type: 'invalid_request_error',
          param: null,
          code: 'not_found',
        },
      });
    }
  });
});

describe('the access token', () => {
  it('works with the openai SDK on /v1, metered to the tenant, and refreshes with rotation', async () => {
    const user = await gw.signUp();
    const token = await tokenFor(user);
    expect(token.scope.split(' ')).toContain('inference');
    const openai = new OpenAI({ baseURL: gw.v1, apiKey: token.access_token, maxRetries: 0 });
    const answer = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(answer.choices[0]?.message.content).toBeTruthy();
    const usage = await call(base, 'GET', '/admin/usage', { key: user.apiKey });
    expect(usage.status).toBe(200);
    expect(usage.body.data.reduce((n: number, row: { requests: number }) => n + row.requests, 0)).toBe(1);

    const refreshed = await tokenRequest(base, {
      grant_type: 'refresh_token',
      refresh_token: token.refresh_token,
      client_id: token.clientId,
      resource: token.resource,
    });
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(token.refresh_token);
    const models = await call(base, 'GET', '/v1/models', { key: refreshed.body.access_token });
    expect(models.status).toBe(200);

    // The old refresh token again: reuse is detected and the whole grant ends, new tokens included.
    const reused = await tokenRequest(base, {
      grant_type: 'refresh_token',
      refresh_token: token.refresh_token,
      client_id: token.clientId,
    });
    expect(reused.status).toBe(400);
    expect(reused.body.error).toBe('invalid_grant');
    expect((await call(base, 'GET', '/v1/models', { key: refreshed.body.access_token })).status).toBe(401);
    const again = await tokenRequest(base, {
      grant_type: 'refresh_token',
      refresh_token: refreshed.body.refresh_token,
      client_id: token.clientId,
    });
    expect(again.body.error).toBe('invalid_grant');
  });

  it('is refused outside its scopes (403) and accepted on /admin within them', async () => {
    const user = await gw.signUp();
    const inference = await tokenFor(user, { approve: ['inference'], scope: 'inference keys' });
    const keys = await call(base, 'GET', '/admin/keys', { key: inference.access_token });
    expect(keys.status).toBe(403);
    expect(keys.body.error.code).toBe('key_scope');
    expect(keys.headers.get('www-authenticate')).toContain('error="insufficient_scope"');

    const usageOnly = await tokenFor(user, { scope: 'usage:read' });
    expect((await call(base, 'GET', '/admin/usage', { key: usageOnly.access_token })).status).toBe(200);
    expect((await call(base, 'GET', '/admin/balance', { key: usageOnly.access_token })).status).toBe(403);
    const chat = await call(base, 'POST', '/v1/chat/completions', {
      key: usageOnly.access_token,
      json: { model: MODEL, messages: [{ role: 'user', content: 'Hi' }] },
    });
    expect(chat.status).toBe(403);
    expect((await call(base, 'GET', '/admin/audit', { key: usageOnly.access_token })).status).toBe(403);
  });

  it("acts with the member's new role from the next request on after the role changes", async () => {
    const owner = await gw.signUp();
    const session = await loginJson(base, owner.email, owner.password);
    const email = `admin-${owner.tenantId}@example.com`;
    const invited = await call(base, 'POST', '/admin/members/invite', {
      ...session,
      json: { email, role: 'admin' },
    });
    expect(invited.status).toBe(201);
    const link = linkIn(await smtp.next(email, /invited/), `${base}/invite/`);
    const password = 'a long enough password';
    const joined = await call(base, 'POST', link.slice(base.length), { json: { password } });
    expect(joined.status).toBe(201);
    const token = await tokenFor({ ...owner, email, password }, { scope: 'webhooks' });
    expect((await call(base, 'GET', '/admin/webhooks', { key: token.access_token })).status).toBe(200);

    const demoted = await call(base, 'PATCH', `/admin/members/${joined.body.user_id}`, {
      ...session,
      json: { role: 'developer' },
    });
    expect(demoted.status).toBe(200);
    // Developers do not manage webhooks: the app, acting for the member, no longer does either.
    expect((await call(base, 'GET', '/admin/webhooks', { key: token.access_token })).status).toBe(403);
  });

  it("of tenant A never reaches tenant B's data", async () => {
    const a = await gw.signUp();
    const b = await gw.signUp();
    const tokenA = await tokenFor(a, { scope: 'inference keys' });
    const listed = await call(base, 'GET', '/admin/keys', { key: tokenA.access_token });
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((k: { id: string }) => k.id)).not.toContain(b.keyId);
    const revokeB = await call(base, 'DELETE', `/admin/keys/${b.keyId}`, { key: tokenA.access_token });
    expect(revokeB.status).toBe(404);
    expect((await call(base, 'GET', '/v1/models', { key: b.apiKey })).status).toBe(200);
  });

  it('is refused at once after RFC 7009 revocation, and after the tenant is suspended', async () => {
    const user = await gw.signUp();
    const token = await tokenFor(user);
    expect((await call(base, 'GET', '/v1/models', { key: token.access_token })).status).toBe(200);
    const revoke = await fetch(`${base}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: token.access_token, client_id: token.clientId }).toString(),
    });
    expect(revoke.status).toBe(200);
    expect((await call(base, 'GET', '/v1/models', { key: token.access_token })).status).toBe(401);

    const other = await tokenFor(user);
    expect((await call(base, 'GET', '/v1/models', { key: other.access_token })).status).toBe(200);
    const suspend = await call(base, 'PATCH', `/operator/tenants/${user.tenantId}`, {
      key: ADMIN_TOKEN,
      json: { suspended: true },
    });
    expect(suspend.status).toBe(200);
    const refused = await call(base, 'GET', '/v1/models', { key: other.access_token });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('tenant_suspended');
  });

  it('is refused once the member revokes the app in the dashboard', async () => {
    const user = await gw.signUp();
    const token = await tokenFor(user);
    expect((await call(base, 'GET', '/v1/models', { key: token.access_token })).status).toBe(200);
    const { jar, csrf } = await signIn(base, user);
    const page = await browse(jar, `${base}/dashboard/apps`);
    const html = await page.text();
    const id = /data-app-id="(oag_[A-Za-z0-9]+)"/.exec(html)?.[1];
    expect(id, html).toBeDefined();
    expect(html).toContain('Test agent');
    const forged = await browse(jar, `${base}/dashboard/apps/${id}/revoke`, { form: { _csrf: 'wrong' } });
    expect(forged.status).toBe(403);
    const done = await browse(jar, `${base}/dashboard/apps/${id}/revoke`, { form: { _csrf: csrf } });
    expect(done.status).toBe(303);
    expect((await call(base, 'GET', '/v1/models', { key: token.access_token })).status).toBe(401);
    const audit = await call(base, 'GET', '/admin/audit', { key: user.apiKey });
    const actions = audit.body.data.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['oauth.app_authorized', 'oauth.app_revoked']));
  });
});

describe('refusals with the standard errors', () => {
  it('PKCE is required, and a wrong verifier or a reused code is refused', async () => {
    const user = await gw.signUp();
    const client = await registerClient(base);
    const noPkce = await fetch(authorizeUrl(base, { clientId: client.client_id, challenge: null }), {
      redirect: 'manual',
    });
    const back = new URL(noPkce.headers.get('location') ?? '', base);
    expect(back.href.startsWith(REDIRECT_URI)).toBe(true);
    expect(back.searchParams.get('error')).toBe('invalid_request');

    const { verifier, challenge } = pkce();
    const { code } = await authorize(base, {
      clientId: client.client_id,
      challenge,
      email: user.email,
      password: user.password,
    });
    const wrong = await tokenRequest(base, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      client_id: client.client_id,
      code_verifier: pkce().verifier,
    });
    expect(wrong.body.error).toBe('invalid_grant');

    const second = await authorize(base, {
      clientId: client.client_id,
      challenge,
      email: user.email,
      password: user.password,
    });
    const first = await tokenRequest(base, {
      grant_type: 'authorization_code',
      code: second.code,
      redirect_uri: REDIRECT_URI,
      client_id: client.client_id,
      code_verifier: verifier,
    });
    expect(first.status).toBe(200);
    const replay = await tokenRequest(base, {
      grant_type: 'authorization_code',
      code: second.code,
      redirect_uri: REDIRECT_URI,
      client_id: client.client_id,
      code_verifier: verifier,
    });
    expect(replay.body.error).toBe('invalid_grant');
    // A replayed code revokes what it had issued.
    expect((await call(base, 'GET', '/v1/models', { key: first.body.access_token })).status).toBe(401);
  });

  it('refuses another resource, an unknown client and an unregistered redirect URI without redirecting there', async () => {
    const client = await registerClient(base);
    const { challenge } = pkce();
    const foreign = await fetch(
      authorizeUrl(base, { clientId: client.client_id, challenge, resource: 'https://evil.example/api' }),
      { redirect: 'manual' },
    );
    const back = new URL(foreign.headers.get('location') ?? '', base);
    expect(back.href.startsWith(REDIRECT_URI)).toBe(true);
    expect(back.searchParams.get('error')).toBe('invalid_target');

    const unknown = await fetch(authorizeUrl(base, { clientId: 'no-such-client', challenge }), {
      redirect: 'manual',
    });
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get('location')).toBeNull();
    expect(await unknown.text()).toContain('invalid_client');

    const evil = await fetch(
      authorizeUrl(base, {
        clientId: client.client_id,
        challenge,
        redirectUri: 'https://evil.example/steal',
      }),
      { redirect: 'manual' },
    );
    expect(evil.status).toBe(400);
    expect(evil.headers.get('location')).toBeNull();
    expect(await evil.text()).toContain('redirect_uri');
  });

  it('refuses an expired token with 401', async () => {
    const user = await gw.signUp();
    const token = await tokenFor(user);
    const { db } = gw.server.container.database;
    const rows = await db
      .selectFrom('oauth_records')
      .select(['id_hash', 'payload'])
      .where('model', '=', 'AccessToken')
      .execute();
    for (const row of rows) {
      const payload = JSON.parse(row.payload) as { exp: number };
      payload.exp = Math.floor(Date.now() / 1000) - 10;
      await db
        .updateTable('oauth_records')
        .set({ payload: JSON.stringify(payload) })
        .where('id_hash', '=', row.id_hash)
        .execute();
    }
    gw.server.container.authenticator.clear();
    const res = await call(base, 'GET', '/v1/models', { key: token.access_token });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('resource_metadata=');
  });

  it('keeps API keys working exactly as before', async () => {
    const user = await gw.signUp();
    expect((await call(base, 'GET', '/v1/models', { key: user.apiKey })).status).toBe(200);
    expect((await call(base, 'GET', '/admin/keys', { key: user.apiKey })).status).toBe(200);
    // One character off (never the same character: a key may end in the one put in its place).
    const last = user.apiKey.endsWith('x') ? 'y' : 'x';
    const typo = await call(base, 'GET', '/v1/models', { key: `${user.apiKey.slice(0, -1)}${last}` });
    expect(typo.status).toBe(401);
    expect(typo.body.error.message).toContain('Incorrect API key');
  });
});
