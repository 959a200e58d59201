import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { call, cookiePair, loginJson } from './http.js';

const FORM_TOKEN = 'f'.repeat(43);
const formCookie = `simo_form_csrf=${FORM_TOKEN}`;

describe('sign-up, login, logout and sessions', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.stop();
  });

  describe('POST /register (JSON)', () => {
    it('answers 201 with the key once', async () => {
      const res = await call(gw.url, 'POST', '/register', {
        json: { email: 'Json.User@Example.com', password: 'a long enough password' },
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ plan: 'starter', api_key: expect.stringMatching(/^sk-simo-/) });
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.cookies).toEqual([]);
    });

    it('duplicate email (any case) → 409 email_taken', async () => {
      const res = await call(gw.url, 'POST', '/register', {
        json: { email: 'json.user@example.COM', password: 'a long enough password' },
      });
      expect(res.status).toBe(409);
      expect(res.body.error).toMatchObject({
        code: 'email_taken',
        param: 'email',
        type: 'invalid_request_error',
      });
    });

    it('weak or missing password, bad email → 400 naming the parameter', async () => {
      const weak = await call(gw.url, 'POST', '/register', {
        json: { email: 'w@example.com', password: 'short' },
      });
      expect(weak.status).toBe(400);
      expect(weak.body.error).toMatchObject({ code: 'invalid_parameter', param: 'password' });
      const missing = await call(gw.url, 'POST', '/register', { json: { email: 'm@example.com' } });
      expect(missing.status).toBe(400);
      expect(missing.body.error).toMatchObject({ code: 'missing_required_parameter', param: 'password' });
      const email = await call(gw.url, 'POST', '/register', {
        json: { email: 'nope', password: 'long enough pw' },
      });
      expect(email.status).toBe(400);
      expect(email.body.error.param).toBe('email');
      const broken = await call(gw.url, 'POST', '/register', {
        headers: { 'content-type': 'application/json' },
        json: undefined,
      });
      expect(broken.status).toBe(400);
    });
  });

  describe('POST /register (form)', () => {
    it('with the CSRF cookie and field: session cookie, key in the flash store, 303 to /dashboard', async () => {
      const res = await call(gw.url, 'POST', '/register', {
        cookie: formCookie,
        form: { email: 'form@example.com', password: 'a long enough password', _csrf: FORM_TOKEN },
      });
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/dashboard');
      const setCookie = res.cookies.find((c) => c.startsWith('simo_session='))!;
      expect(setCookie).toMatch(/HttpOnly/);
      expect(setCookie).toMatch(/SameSite=Lax/);
      expect(setCookie).toMatch(/Path=\//);
      expect(setCookie).not.toMatch(/Secure/);
      const cookieValue = cookiePair(res.cookies, 'simo_session')!.split('=')[1]!;
      const session = await gw.server.container.sessions.resolve(cookieValue);
      expect(session?.user.email).toBe('form@example.com');
      const flash = gw.server.container.flash.take<{ apiKey: string }>(session!.sessionIdHash);
      expect(flash?.apiKey).toMatch(/^sk-simo-/);
      // Shown once: a second read finds nothing.
      expect(gw.server.container.flash.take(session!.sessionIdHash)).toBeUndefined();
      // The key in the flash works.
      expect((await call(gw.url, 'GET', '/v1/models', { key: flash!.apiKey })).status).toBe(200);
    });

    it('without a matching CSRF token → 303 back with error=csrf_failed, nothing created', async () => {
      const res = await call(gw.url, 'POST', '/register', {
        cookie: formCookie,
        form: { email: 'csrf@example.com', password: 'a long enough password', _csrf: 'g'.repeat(43) },
      });
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/register?error=csrf_failed');
      const noCookie = await call(gw.url, 'POST', '/register', {
        form: { email: 'csrf@example.com', password: 'a long enough password', _csrf: FORM_TOKEN },
      });
      expect(noCookie.headers.get('location')).toBe('/register?error=csrf_failed');
      const login = await call(gw.url, 'POST', '/login', {
        json: { email: 'csrf@example.com', password: 'a long enough password' },
      });
      expect(login.status).toBe(401);
    });

    it('form errors redirect with a code', async () => {
      const post = (email: string, password: string) =>
        call(gw.url, 'POST', '/register', {
          cookie: formCookie,
          form: { email, password, _csrf: FORM_TOKEN },
        });
      expect((await post('form@example.com', 'a long enough password')).headers.get('location')).toBe(
        '/register?error=email_taken',
      );
      expect((await post('x@example.com', 'short')).headers.get('location')).toBe(
        '/register?error=weak_password',
      );
      expect((await post('bad', 'a long enough password')).headers.get('location')).toBe(
        '/register?error=invalid_email',
      );
    });
  });

  describe('POST /login and /logout', () => {
    it('JSON login sets the session cookie and returns a CSRF token; logout ends the session', async () => {
      const a = await gw.signUp();
      const res = await call(gw.url, 'POST', '/login', {
        json: { email: a.email.toUpperCase(), password: a.password },
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ object: 'session', tenant_id: a.tenantId, email: a.email });
      expect(res.body.csrf_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const cookie = cookiePair(res.cookies, 'simo_session')!;
      expect((await call(gw.url, 'GET', '/admin/keys', { cookie })).status).toBe(200);

      const noCsrf = await call(gw.url, 'POST', '/logout', { cookie });
      expect(noCsrf.status).toBe(403);
      const out = await call(gw.url, 'POST', '/logout', { cookie, csrf: res.body.csrf_token });
      expect(out.status).toBe(204);
      expect(out.cookies.find((c) => c.startsWith('simo_session='))).toMatch(/Max-Age=0/);
      const after = await call(gw.url, 'GET', '/admin/keys', { cookie });
      expect(after.status).toBe(401);
      // Logging out without a session is harmless.
      expect((await call(gw.url, 'POST', '/logout', {})).status).toBe(204);
    });

    it('form login: 303 to /dashboard; bad password 303 to /login?error=invalid_credentials', async () => {
      const a = await gw.signUp();
      const ok = await call(gw.url, 'POST', '/login', {
        cookie: formCookie,
        form: { email: a.email, password: a.password, _csrf: FORM_TOKEN },
      });
      expect(ok.status).toBe(303);
      expect(ok.headers.get('location')).toBe('/dashboard');
      expect(cookiePair(ok.cookies, 'simo_session')).toBeTruthy();
      const bad = await call(gw.url, 'POST', '/login', {
        cookie: formCookie,
        form: { email: a.email, password: 'wrong password!', _csrf: FORM_TOKEN },
      });
      expect(bad.headers.get('location')).toBe('/login?error=invalid_credentials');
      const csrf = await call(gw.url, 'POST', '/login', { form: { email: a.email, password: a.password } });
      expect(csrf.headers.get('location')).toBe('/login?error=csrf_failed');
      const form = await call(gw.url, 'POST', '/logout', {
        cookie: cookiePair(ok.cookies, 'simo_session')!,
        form: { _csrf: (await loginJson(gw.url, a.email, a.password)).csrf },
      });
      // A token of another session does not end this one.
      expect(form.status).toBe(403);
    });

    it('bad credentials → 401 invalid_credentials, unknown email the same', async () => {
      const a = await gw.signUp();
      const wrong = await call(gw.url, 'POST', '/login', {
        json: { email: a.email, password: 'not the password' },
      });
      expect(wrong.status).toBe(401);
      expect(wrong.body.error).toMatchObject({ code: 'invalid_credentials', type: 'authentication_error' });
      const unknown = await call(gw.url, 'POST', '/login', {
        json: { email: 'nobody@example.com', password: 'whatever123' },
      });
      expect(unknown.status).toBe(401);
      expect(unknown.body.error.message).toBe(wrong.body.error.message);
      const missing = await call(gw.url, 'POST', '/login', { json: { email: a.email } });
      expect(missing.status).toBe(400);
      expect(missing.body.error.param).toBe('password');
    });

    it('throttles after 5 failures per email and IP with 429 and Retry-After, even for the right password', async () => {
      const a = await gw.signUp();
      for (let i = 0; i < 5; i++) {
        const r = await call(gw.url, 'POST', '/login', {
          json: { email: a.email, password: `wrong-${i}-password` },
        });
        expect(r.status).toBe(401);
      }
      const locked = await call(gw.url, 'POST', '/login', { json: { email: a.email, password: a.password } });
      expect(locked.status).toBe(429);
      expect(locked.body.error.code).toBe('rate_limit_exceeded');
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(800);
      // Other accounts from the same address are not affected.
      const b = await gw.signUp();
      expect(
        (await call(gw.url, 'POST', '/login', { json: { email: b.email, password: b.password } })).status,
      ).toBe(200);

      const audit = await call(gw.url, 'GET', '/admin/audit', { key: a.apiKey, headers: {} });
      const failures = audit.body.data.filter((e: { action: string }) => e.action === 'auth.login_failed');
      expect(failures).toHaveLength(5);
      expect(failures[0]).toMatchObject({ actor: 'anonymous', ip: '127.0.0.1' });
    });

    it('a suspended tenant cannot sign in or use its session', async () => {
      const a = await gw.signUp();
      const { cookie } = await loginJson(gw.url, a.email, a.password);
      await gw.server.container.operatorTenants.update(
        a.tenantId,
        { suspended: true },
        { actor: 'test', ip: null },
      );
      const login = await call(gw.url, 'POST', '/login', { json: { email: a.email, password: a.password } });
      expect(login.status).toBe(403);
      expect(login.body.error.code).toBe('tenant_suspended');
      expect((await call(gw.url, 'GET', '/admin/keys', { cookie })).status).toBe(403);
    });

    it('forged or malformed session cookies are refused', async () => {
      for (const cookie of ['simo_session=abc', `simo_session=${'A'.repeat(43)}`, 'simo_session=%E0%A4%A']) {
        const r = await call(gw.url, 'GET', '/admin/keys', { cookie });
        expect(r.status).toBe(401);
      }
    });

    it('sessions slide and expire server-side', async () => {
      const a = await gw.signUp();
      const { cookie } = await loginJson(gw.url, a.email, a.password);
      const { db } = gw.server.container.database;
      const mine = () => db.selectFrom('sessions').selectAll().where('tenant_id', '=', a.tenantId).execute();
      // Used after a quiet spell: the expiry moves forward to a week from now.
      await db
        .updateTable('sessions')
        .set({ last_seen_at: Date.now() - 120_000, expires_at: Date.now() + 5_000 })
        .where('tenant_id', '=', a.tenantId)
        .execute();
      expect((await call(gw.url, 'GET', '/admin/keys', { cookie })).status).toBe(200);
      const [slid] = await mine();
      expect(Number(slid!.expires_at)).toBeGreaterThan(Date.now() + 6 * 24 * 3600_000);
      // Past its expiry it is refused and removed.
      await db
        .updateTable('sessions')
        .set({ expires_at: Date.now() - 1 })
        .where('tenant_id', '=', a.tenantId)
        .execute();
      expect((await call(gw.url, 'GET', '/admin/keys', { cookie })).status).toBe(401);
      expect(await mine()).toHaveLength(0);
      // Expired sessions nobody comes back for are removed at the next sign-in.
      await loginJson(gw.url, a.email, a.password);
      await db
        .updateTable('sessions')
        .set({ expires_at: Date.now() - 1 })
        .execute();
      await loginJson(gw.url, a.email, a.password);
      const left = await db.selectFrom('sessions').select('expires_at').execute();
      expect(left).toHaveLength(1);
      expect(Number(left[0]!.expires_at)).toBeGreaterThan(Date.now());
    });
  });
});

describe('cookies on an https public URL', () => {
  it('are marked Secure', async () => {
    const gw = await startTestGateway({ env: { SIMO_PUBLIC_URL: 'https://api.example.com' } });
    try {
      const a = await gw.signUp();
      const res = await call(gw.url, 'POST', '/login', { json: { email: a.email, password: a.password } });
      expect(res.cookies.find((c) => c.startsWith('simo_session='))).toMatch(/; Secure/);
    } finally {
      await gw.stop();
    }
  });
});
