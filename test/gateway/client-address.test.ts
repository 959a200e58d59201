import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

// Without trusted proxies, X-Forwarded-For is the client's word: the per-address guard must ignore it.
let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ config: { limits: { authFailuresPerMinute: 3 } } });
});
afterAll(async () => {
  await gw?.stop();
});

it('does not let a client dodge the auth-failure guard by forging X-Forwarded-For', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    const res = await fetch(`${gw.v1}/models`, {
      headers: { authorization: 'Bearer sk-simo-wrong', 'x-forwarded-for': `198.51.100.${i}` },
    });
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
  expect(statuses.at(-1)).toBe(429);
});
