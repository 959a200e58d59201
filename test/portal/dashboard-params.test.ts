import { afterAll, beforeAll, expect, it } from 'vitest';
import { call, loginJson } from '../accounts/http.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/** Whatever a visitor puts in a page's query string, the portal answers a page (or a clear 4xx), never a 500. */
let gw: TestGateway;
let cookie: string;
beforeAll(async () => {
  gw = await startTestGateway();
  const user = await gw.signUp();
  ({ cookie } = await loginJson(gw.url, user.email, user.password));
});
afterAll(() => gw?.stop());

const usageQueries = [
  'to=2026-99-99',
  'from=2026-99-99',
  'from=2026-02-30&to=2026-13-01',
  'from=2026-02-29&to=2026-04-31',
  'from=0000-01-01&to=0000-01-02',
  'from=9999-12-31&to=9999-12-31',
  'from=2026-01-01&from=2026-02-01&to=2026-03-01&to=2026-04-01',
  'to[]=2026-01-01&from[a]=b',
  'from=%E2%80%AE2026-01-01',
  `to=${'9'.repeat(500)}`,
];

for (const q of usageQueries)
  it(`/dashboard/usage?${q} shows the usage page`, async () => {
    const res = await call(gw.url, 'GET', `/dashboard/usage?${q}`, { cookie });
    expect(res.status).toBe(200);
    expect(String(res.body)).toContain('<h1>Usage</h1>');
  });

it('a date that is not a calendar day falls back to the default range', async () => {
  const res = await call(gw.url, 'GET', '/dashboard/usage?to=2026-99-99&from=2026-02-30', { cookie });
  const today = new Date().toISOString().slice(0, 10);
  expect(String(res.body)).toContain(`name="to" type="date" value="${today}"`);
});

for (const q of ['after=abc', 'after=1&after=2', `after=${'9'.repeat(40)}`, 'after[]=1'])
  it(`/dashboard/audit?${q} shows the audit page`, async () => {
    const res = await call(gw.url, 'GET', `/dashboard/audit?${q}`, { cookie });
    expect(res.status).toBe(200);
  });

for (const path of ['/dashboard/webhooks/whk_nope', `/dashboard/webhooks/${'x'.repeat(300)}`])
  it(`${path.slice(0, 40)} answers without a server error`, async () => {
    const res = await call(gw.url, 'GET', path, { cookie });
    expect(res.status).toBeLessThan(500);
  });

for (const q of ['error=constructor', 'error=__proto__', 'error=toString', 'error=a&error=b', 'error[x]=1'])
  for (const page of ['/login', '/register'])
    it(`${page}?${q} shows the form without a bogus message`, async () => {
      const res = await call(gw.url, 'GET', `${page}?${q}`);
      expect(res.status).toBe(200);
      expect(String(res.body)).not.toContain('id="form-error"');
    });
