/**
 * The portal over plain HTTP: security headers, assets and caching, the JavaScript budget, what
 * stays out of /openapi.json, dashboard access control and the playground's session-only streaming.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeHtml, html } from '../../src/portal/html.js';
import { usd } from '../../src/portal/pages/dashboard/format.js';
import { dailySeries, perModelTotals, usageRange } from '../../src/portal/pages/dashboard/usage.js';
import { type SignedUp, startTestGateway, type TestGateway } from '../support/gateway.js';
import { describeWith } from '../support/services.js';

describe('html template', () => {
  it('escapes every interpolated value and keeps nested fragments', () => {
    const evil = `"><script>alert('x')</script>`;
    const out = html`<p title="${evil}">${evil}${html`<b>${'&'}</b>`}${['<i>', 2]}</p>`.value;
    expect(out).toBe(
      `<p title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;<b>&amp;</b>&lt;i&gt;2</p>`,
    );
    expect(escapeHtml('`')).toBe('&#96;');
  });

  it('formats money without hiding sub-cent amounts', () => {
    expect(usd('5.000000')).toBe('$5.00');
    expect(usd('4.999980')).toBe('$4.99998');
    expect(usd(0.00002)).toBe('$0.00002');
    expect(usd('1234.5')).toBe('$1,234.50');
    expect(usd('-0.25')).toBe('-$0.25');
    expect(usd('n/a')).toBe('—');
  });

  it('builds one daily line per model, zero-filled', () => {
    const rows = [
      { day: '2026-11-02', model: 'a', requests: 2, prompt_tokens: 5, completion_tokens: 5, cost: '0.10' },
      { day: '2026-11-02', model: 'b', requests: 1, prompt_tokens: 1, completion_tokens: 0, cost: '0.01' },
      { day: '2026-11-03', model: 'a', requests: 1, prompt_tokens: 1, completion_tokens: 1, cost: '0.02' },
      { day: '2026-12-01', model: 'a', requests: 9, prompt_tokens: 9, completion_tokens: 9, cost: '9' },
    ];
    const s = dailySeries(rows, '2026-11-01', '2026-11-03');
    expect(s.days).toHaveLength(3);
    expect(s.models.map((m) => [m.model, m.requests, m.tokens])).toEqual([
      ['a', [0, 2, 1], [0, 10, 2]],
      ['b', [0, 1, 0], [0, 1, 0]],
    ]);
    expect(s.totals.requests).toBe(4);
    expect(s.totals.cost).toBeCloseTo(0.13);
    const totals = perModelTotals(rows.slice(0, 3));
    expect(totals.map((t) => [t.model, t.requests, t.prompt_tokens, t.completion_tokens])).toEqual([
      ['a', 3, 6, 6],
      ['b', 1, 1, 0],
    ]);
    expect(totals[0]!.cost).toBeCloseTo(0.12);
  });

  it('clamps the usage date range', () => {
    const now = new Date('2026-11-25T12:00:00Z');
    expect(usageRange({}, now)).toEqual({ from: '2026-10-27', to: '2026-11-25' });
    expect(usageRange({ from: '2026-11-30', to: '2026-11-01' }, now)).toEqual({
      from: '2026-10-03',
      to: '2026-11-01',
    });
    expect(usageRange({ from: '1900-01-01', to: '2026-11-25' }, now).from).toBe('2025-11-25');
    expect(usageRange({ from: 'x', to: '<script>' }, now)).toEqual({ from: '2026-10-27', to: '2026-11-25' });
  });
});

for (const dialect of ['sqlite', 'postgres'] as const) {
  const run = (name: string, body: () => void) =>
    dialect === 'sqlite' ? describe(name, body) : describeWith('pg', name, body);
  await run(`portal over HTTP (${dialect})`, () => {
    let gw: TestGateway;
    let user: SignedUp;
    let cookie = '';
    let csrf = '';

    beforeAll(async () => {
      gw = await startTestGateway({
        dialect,
        config: { brand: { name: 'Acme <AI>', supportEmail: 'help@acme.test' } },
      });
      user = await gw.signUp();
      const res = await fetch(`${gw.url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: user.email, password: user.password }),
      });
      expect(res.status).toBe(200);
      cookie = (res.headers.getSetCookie().find((c) => c.startsWith('simo_session=')) ?? '').split(';')[0]!;
      csrf = ((await res.json()) as { csrf_token: string }).csrf_token;
    });
    afterAll(async () => {
      await gw?.stop();
    });

    const get = (path: string, headers: Record<string, string> = {}) =>
      fetch(`${gw.url}${path}`, { headers, redirect: 'manual' });

    it('serves public pages as HTML with security headers, branded and escaped', async () => {
      for (const path of ['/', '/docs', '/compare', '/register', '/login']) {
        const res = await get(path);
        expect(res.status, path).toBe(200);
        expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
        const csp = res.headers.get('content-security-policy') ?? '';
        expect(csp).toContain("script-src 'self'");
        expect(csp).toContain("frame-ancestors 'none'");
        expect(csp).not.toContain('unsafe-inline');
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        expect(res.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
        const body = await res.text();
        expect(body).toContain('Acme &lt;AI&gt;');
        expect(body).not.toContain('Acme <AI>');
        expect(body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      }
    });

    it('puts a form CSRF token on the sign-up form and never echoes an unknown error code', async () => {
      const res = await get('/register?error=%3Cscript%3Ealert(1)%3C/script%3E');
      const body = await res.text();
      expect(res.headers.getSetCookie().some((c) => c.startsWith('simo_form_csrf='))).toBe(true);
      expect(body).toMatch(/name="_csrf" value="[A-Za-z0-9_-]{43}"/);
      expect(body).not.toContain('alert(1)');
      expect(await (await get('/login?error=invalid_credentials')).text()).toContain('role="alert"');
    });

    it('serves hashed assets with immutable caching and ETags, within the JavaScript budget', async () => {
      const page = await (await get('/dashboard/usage', { cookie })).text();
      const urls = [...page.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
      expect(urls.some((u) => /\/assets\/uplot\.[0-9a-f]{10}\.js$/.test(u))).toBe(true);
      let ownJs = 0;
      for (const url of urls) {
        const res = await get(url);
        expect(res.status, url).toBe(200);
        expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
        const etag = res.headers.get('etag')!;
        const bytes = (await res.arrayBuffer()).byteLength;
        if (url.endsWith('.js') && !url.includes('uplot')) ownJs += bytes;
        expect((await get(url, { 'if-none-match': etag })).status).toBe(304);
      }
      expect(ownJs).toBeLessThan(100 * 1024);
      const missing = await get('/assets/nope.0000000000.js');
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
    });

    it('keeps pages out of /openapi.json', async () => {
      const res = await get('/openapi.json');
      if (res.status === 404)
        return console.warn('[portal test] /openapi.json not in this build; check skipped');
      const doc = (await res.json()) as { paths: Record<string, unknown> };
      const paths = Object.keys(doc.paths);
      expect(paths).toContain('/v1/chat/completions');
      for (const p of paths) expect(p).not.toMatch(/^\/(dashboard|assets|docs$|compare$|$)/);
    });

    it('sends visitors without a session to the login page', async () => {
      for (const path of ['/dashboard', '/dashboard/keys', '/dashboard/playground']) {
        const res = await get(path);
        expect(res.status, path).toBe(303);
        expect(res.headers.get('location')).toBe('/login');
      }
      const signedIn = await get('/dashboard/keys', { cookie });
      expect(signedIn.status).toBe(200);
      expect(signedIn.headers.get('cache-control')).toBe('no-store');
      const body = await signedIn.text();
      expect(body).toContain(`<meta name="csrf-token" content="${csrf}">`);
      expect(body).not.toContain(user.apiKey);
      expect((await get('/login', { cookie })).headers.get('location')).toBe('/dashboard');
    });

    it('streams in the playground only for a session with its CSRF token', async () => {
      const body = JSON.stringify({
        model: 'qwen/qwen3-8b',
        messages: [{ role: 'user', content: 'Hi' }],
        stream: true,
      });
      const post = (headers: Record<string, string>) =>
        fetch(`${gw.url}/dashboard/playground/chat`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body,
        });
      expect((await post({})).status).toBe(401);
      expect((await post({ authorization: `Bearer ${user.apiKey}` })).status).toBe(403);
      const noCsrf = await post({ cookie });
      expect(noCsrf.status).toBe(403);
      expect(((await noCsrf.json()) as { error: { code: string } }).error.code).toBe('csrf_failed');
      const ok = await post({ cookie, 'x-csrf-token': csrf });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toContain('text/event-stream');
      expect(ok.headers.get('x-ratelimit-limit')).toBe('60');
      const text = await ok.text();
      expect(text).toContain('"object":"chat.completion.chunk"');
      expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    });
  });
}
