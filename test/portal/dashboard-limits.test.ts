import { afterAll, beforeAll, expect, it } from 'vitest';
import { loginJson } from '../accounts/http.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

// A tight plan makes any counted request visible in X-RateLimit-Remaining.
let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ config: { plans: { starter: { rpm: 5 } } } });
});
afterAll(async () => {
  await gw?.stop();
});

it('does not count dashboard page views against the API rate limit, but counts API calls', async () => {
  const user = await gw.signUp();
  const { cookie } = await loginJson(gw.url, user.email, user.password);
  for (const page of [
    '/dashboard',
    '/dashboard/usage',
    '/dashboard/billing',
    '/dashboard/keys',
    '/dashboard',
  ]) {
    const res = await fetch(`${gw.url}${page}`, { headers: { cookie } });
    expect(res.status, page).toBe(200);
    expect(await res.text()).not.toContain('Rate limit reached');
  }
  const api = await fetch(`${gw.v1}/models`, { headers: { authorization: `Bearer ${user.apiKey}` } });
  expect(api.headers.get('x-ratelimit-remaining')).toBe('4');

  // The same /admin read from the browser (session cookie, no in-process marker) is API traffic.
  const fromBrowser = await fetch(`${gw.url}/admin/balance`, { headers: { cookie } });
  expect(fromBrowser.status).toBe(200);
  expect(fromBrowser.headers.get('x-ratelimit-remaining')).toBe('3');
  // A forged marker is just an unknown header.
  const forged = await fetch(`${gw.url}/admin/balance`, {
    headers: { cookie, 'x-simo-internal-call': 'guess' },
  });
  expect(forged.headers.get('x-ratelimit-remaining')).toBe('2');
});
