import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Password guessing in parallel: the throttle counts each attempt before the password is checked, so
 * hundreds of concurrent wrong passwords for one email — split across two replicas sharing one
 * database — get exactly the allowed number of password checks (401) and 429 for the rest.
 */
describe('login throttle under concurrency, two replicas on one database', () => {
  let a: TestGateway;
  let b: TestGateway;
  // Enough sockets that every request is in flight at once.
  const agent = new Agent({ connections: 500, pipelining: 0 });
  beforeAll(async () => {
    // The per-address guard has its own tests; here only the per-email throttle may refuse.
    const config = { limits: { authFailuresPerMinute: 10_000 } };
    a = await startTestGateway({ config });
    b = await startTestGateway({ config, database: a.database });
  });
  afterAll(async () => {
    await agent.close();
    await b?.stop();
    await a?.stop();
  });

  async function attempt(base: string, email: string, password: string) {
    const res = await request(`${base}/login`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    const body = (await res.body.json()) as { error?: { code?: string } };
    return { status: res.statusCode, code: body.error?.code, retryAfter: res.headers['retry-after'] };
  }

  it('lets exactly 5 of 400 parallel wrong passwords reach the password check', async () => {
    const user = await a.signUp();
    const results = await Promise.all(
      Array.from({ length: 400 }, (_, i) =>
        attempt(i % 2 === 0 ? a.url : b.url, user.email, `wrong password ${i}`),
      ),
    );
    const statuses = new Map<number, number>();
    for (const r of results) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    expect(Object.fromEntries(statuses)).toEqual({ 401: 5, 429: 395 });
    for (const r of results.filter((x) => x.status === 429)) {
      expect(r.code).toBe('rate_limit_exceeded');
      expect(Number(r.retryAfter)).toBeGreaterThan(800);
    }
    // Locked out on both replicas, even with the right password.
    for (const base of [a.url, b.url])
      expect((await attempt(base, user.email, user.password)).status).toBe(429);
  }, 60_000);

  it('throttles an email without an account the same way', async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        attempt(i % 2 === 0 ? a.url : b.url, 'nobody-here@example.com', `guess ${i}`),
      ),
    );
    expect(results.filter((r) => r.status === 401)).toHaveLength(5);
    expect(results.filter((r) => r.status === 429)).toHaveLength(95);
  }, 60_000);

  it('a successful sign-in starts the count afresh', async () => {
    const user = await a.signUp();
    for (let i = 0; i < 4; i++) expect((await attempt(b.url, user.email, `nope ${i}`)).status).toBe(401);
    expect((await attempt(a.url, user.email, user.password)).status).toBe(200);
    for (let i = 0; i < 5; i++)
      expect((await attempt(a.url, user.email, `nope again ${i}`)).status).toBe(401);
    expect((await attempt(b.url, user.email, user.password)).status).toBe(429);
  });
});
