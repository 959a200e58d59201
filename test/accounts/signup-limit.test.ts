import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

// Each sign-up grants trial credits: one address gets only a few a minute.
let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ config: { limits: { signupsPerMinute: 2 }, trustProxy: true } });
});
afterAll(async () => {
  await gw?.stop();
});

const register = (email: string, from: string) =>
  fetch(`${gw.url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
    body: JSON.stringify({ email, password: 'correct horse battery staple' }),
  });

it('refuses the third sign-up a minute from one address with 429 and Retry-After', async () => {
  expect((await register('one@example.com', '198.51.100.1')).status).toBe(201);
  expect((await register('two@example.com', '198.51.100.1')).status).toBe(201);
  const third = await register('three@example.com', '198.51.100.1');
  expect(third.status).toBe(429);
  expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(((await third.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded');
  // Another address is not affected.
  expect((await register('four@example.com', '198.51.100.2')).status).toBe(201);
});

it('stops one address guessing passwords across many emails', async () => {
  const guard = await startTestGateway({
    config: { limits: { authFailuresPerMinute: 3 }, trustProxy: true },
  });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${guard.url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.9' },
        body: JSON.stringify({ email: `victim${i}@example.com`, password: 'not the password' }),
      });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    expect(statuses.at(-1)).toBe(429);
  } finally {
    await guard.stop();
  }
});
