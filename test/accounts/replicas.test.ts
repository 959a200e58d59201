import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFlash, sealFlash } from '../../src/accounts/flash-store.js';
import type { Container } from '../../src/container.js';
import { registerCookies } from '../../src/http/cookies.js';
import { requireSession } from '../../src/http/session-auth.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { call, cookiePair } from './http.js';

/** A dashboard-like page on a given replica's container: shows the flash once. */
async function dashboardOn(c: Container) {
  const app = Fastify();
  await registerCookies(app, c.config.publicUrl);
  app.decorateRequest('session', null);
  app.get('/dashboard', { preHandler: requireSession(c, { redirectTo: '/login' }) }, async (request) => ({
    flash: c.flash.take(request.session!.sessionIdHash) ?? null,
  }));
  await app.ready();
  return app;
}

describe('two replicas on one database', () => {
  let a: TestGateway;
  let b: TestGateway;
  beforeAll(async () => {
    a = await startTestGateway();
    b = await startTestGateway({ database: a.database });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('signs up on replica A and shows the key on replica B, then never again', async () => {
    const token = 't'.repeat(43);
    const res = await call(a.url, 'POST', '/register', {
      cookie: `simo_form_csrf=${token}`,
      form: { email: 'replicas@example.com', password: 'a long enough password', _csrf: token },
    });
    expect(res.status).toBe(303);
    const session = cookiePair(res.cookies, 'simo_session')!;
    const flash = cookiePair(res.cookies, 'simo_flash')!;
    // Attribute order carries no meaning (RFC 6265 §5.2): each attribute is checked on its own.
    const flashAttributes = (res.cookies.find((c) => c.startsWith('simo_flash=')) ?? '').split('; ').slice(1);
    expect(flashAttributes).toEqual(
      expect.arrayContaining(['HttpOnly', 'SameSite=Lax', 'Max-Age=300', 'Path=/']),
    );
    expect(flash).not.toContain('sk-simo-');

    const pageB = await dashboardOn(b.server.container);
    const first = await pageB.inject({
      method: 'GET',
      url: '/dashboard',
      headers: { cookie: `${session}; ${flash}` },
    });
    expect(first.statusCode).toBe(200);
    const shown = first.json().flash as { kind: string; apiKey: string };
    expect(shown.kind).toBe('new_api_key');
    expect(shown.apiKey).toMatch(/^sk-simo-/);
    expect(String(first.headers['set-cookie'])).toMatch(/simo_flash=; .*Max-Age=0/);
    // The browser dropped the cookie; even a replayed cookie is not shown twice on the same replica.
    const again = await pageB.inject({ method: 'GET', url: '/dashboard', headers: { cookie: session } });
    expect(again.json().flash).toBeNull();
    // The key works.
    expect((await call(b.url, 'GET', '/v1/models', { key: shown.apiKey })).status).toBe(200);

    // Without the session the sealed cookie is worthless, and another session cannot open it.
    const other = await call(a.url, 'POST', '/login', {
      json: { email: 'replicas@example.com', password: 'a long enough password' },
    });
    const otherSession = cookiePair(other.cookies, 'simo_session')!;
    const stolen = await pageB.inject({
      method: 'GET',
      url: '/dashboard',
      headers: { cookie: `${otherSession}; ${flash}` },
    });
    expect(stolen.json().flash).toBeNull();
    const anonymous = await pageB.inject({ method: 'GET', url: '/dashboard', headers: { cookie: flash } });
    expect(anonymous.statusCode).toBe(303);
    expect(anonymous.headers.location).toBe('/login');
    await pageB.close();
  });

  it('login throttling counts failures on every replica', async () => {
    const user = await a.signUp();
    for (let i = 0; i < 5; i++) {
      const replica = i % 2 === 0 ? a : b;
      const r = await call(replica.url, 'POST', '/login', {
        json: { email: user.email, password: `wrong ${i} password` },
      });
      expect(r.status).toBe(401);
    }
    for (const replica of [a, b]) {
      const locked = await call(replica.url, 'POST', '/login', {
        json: { email: user.email, password: user.password },
      });
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(800);
    }
  });

  it('sealed values expire and resist tampering', () => {
    const id = 's'.repeat(43);
    const sealed = sealFlash(id, { x: 1 }, Date.now() + 1000);
    expect(openFlash(id, sealed)).toEqual({ x: 1 });
    expect(openFlash(id, sealed, Date.now() + 2000)).toBeUndefined();
    expect(openFlash('o'.repeat(43), sealed)).toBeUndefined();
    const bytes = Buffer.from(sealed, 'base64url');
    bytes[bytes.length - 1]! ^= 1;
    expect(openFlash(id, bytes.toString('base64url'))).toBeUndefined();
    expect(openFlash(id, 'garbage')).toBeUndefined();
  });
});
