/**
 * One contract, two implementations: the in-process limiter and the Redis limiter (fresh key prefix
 * per test) must both admit exactly the limit, count down without gaps, agree on Reset/Retry-After
 * and roll their windows over.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuthContext } from '../../src/accounts/authenticator.js';
import { formatDuration, rateLimitHeaders } from '../../src/ratelimit/headers.js';
import { MemoryWindowStore } from '../../src/ratelimit/memory-window-store.js';
import { rateLimitExceeded } from '../../src/ratelimit/model-call-limit.js';
import { RedisWindowStore } from '../../src/ratelimit/redis-window-store.js';
import { SlidingWindowLimiter } from '../../src/ratelimit/sliding-window-limiter.js';
import type { RequestLimiter } from '../../src/ratelimit/types.js';
import { randomBase62 } from '../../src/shared/ids.js';
import { describeWith, TEST_REDIS_URL } from '../support/services.js';

const plans = { starter: { rpm: 60 }, small: { rpm: 5 }, metered: { rpm: 100, tpm: 1_000 } };

function authFor(plan: string, rpmOverride: number | null = null): AuthContext {
  const id = `ten_${randomBase62(10)}`;
  return {
    tenant: {
      id,
      name: 'T',
      email: 't@example.com',
      plan,
      rpmOverride,
      allowedModels: null,
      suspended: false,
      createdAt: 0,
    },
    key: {
      id: `key_${randomBase62(8)}`,
      tenantId: id,
      name: 'k',
      hash: '',
      prefix: '',
      last4: '',
      scopes: ['inference'],
      createdAt: 0,
      lastUsedAt: null,
      revokedAt: null,
    },
  } as AuthContext;
}

interface Backend {
  /** A limiter with the given window; `advance` moves its clock (real waiting for Redis). */
  make(windowMs: number): { limiter: RequestLimiter; advance(ms: number): Promise<void> };
}

function limiterContract(backend: () => Backend) {
  it('admits exactly the limit out of a concurrent burst of 4x the limit', async () => {
    const { limiter } = backend().make(60_000);
    const auth = authFor('starter');
    const decisions = await Promise.all(Array.from({ length: 240 }, () => limiter.check(auth)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(60);
    expect(decisions.filter((d) => !d.allowed).every((d) => d.refusedBy === 'requests')).toBe(true);
  });

  it('counts Remaining down without gaps, then refuses', async () => {
    const { limiter } = backend().make(60_000);
    const auth = authFor('starter');
    const remaining: number[] = [];
    for (let i = 0; i < 60; i++) remaining.push((await limiter.check(auth)).remaining);
    expect(remaining).toEqual(Array.from({ length: 60 }, (_, i) => 59 - i));
    const refused = await limiter.check(auth);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, limit: 60 });
  });

  it('makes X-RateLimit-Reset and Retry-After agree', async () => {
    const { limiter } = backend().make(60_000);
    const auth = authFor('small');
    for (let i = 0; i < 5; i++) expect((await limiter.check(auth)).allowed).toBe(true);
    const before = Date.now();
    const d = await limiter.check(auth);
    expect(d.allowed).toBe(false);
    const nowSec = Math.floor(before / 1000);
    expect(d.resetAt).toBeGreaterThanOrEqual(nowSec);
    expect(d.retryAfter).toBeGreaterThanOrEqual(1);
    expect(d.retryAfter).toBeLessThanOrEqual(60);
    expect(d.retryAfter).toBe(d.resetAfter);
    // Reset is now plus Retry-After (each rounded up to whole seconds, hence one second of slack).
    expect(Math.abs(d.resetAt - (nowSec + d.retryAfter!))).toBeLessThanOrEqual(1);
    const h = rateLimitHeaders(d);
    expect(Number(h['x-ratelimit-reset'])).toBe(d.resetAt);
    expect(h['retry-after']).toBe(String(d.retryAfter));
    expect(Number(h['retry-after-ms'])).toBeLessThanOrEqual(d.retryAfter! * 1000);
    expect(h['x-ratelimit-remaining']).toBe('0');
    expect(h['x-ratelimit-reset-requests']).toBe(formatDuration(d.retryAfter!));
    expect(h['x-ratelimit-limit-requests']).toBe('5');
  });

  it('rolls the window over: slots free up as old requests leave it', async () => {
    const { limiter, advance } = backend().make(1_000);
    const auth = authFor('small');
    for (let i = 0; i < 5; i++) expect((await limiter.check(auth)).allowed).toBe(true);
    const refused = await limiter.check(auth);
    expect(refused.allowed).toBe(false);
    await advance(refused.retryAfterMs! + 5);
    const again = await limiter.check(auth);
    expect(again.allowed).toBe(true);
  });

  it("honours the tenant's rpm override over the plan", async () => {
    const { limiter } = backend().make(60_000);
    const auth = authFor('starter', 3);
    const decisions = await Promise.all(Array.from({ length: 12 }, () => limiter.check(auth)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(3);
    expect(decisions[0]!.limit).toBe(3);
  });

  it('keeps tenants apart', async () => {
    const { limiter } = backend().make(60_000);
    const a = authFor('small');
    const b = authFor('small');
    for (let i = 0; i < 5; i++) await limiter.check(a);
    expect((await limiter.check(a)).allowed).toBe(false);
    expect((await limiter.check(b)).allowed).toBe(true);
  });

  it('debits tokens after the fact and refuses once the tokens-per-minute budget is spent', async () => {
    const { limiter } = backend().make(60_000);
    const auth = authFor('metered');
    const first = await limiter.check(auth);
    expect(first.tokens).toMatchObject({ limit: 1_000, remaining: 1_000 });
    await limiter.recordTokens(auth, 600);
    const second = await limiter.check(auth);
    expect(second.allowed).toBe(true);
    expect(second.tokens?.remaining).toBe(400);
    await limiter.recordTokens(auth, 500);
    const refused = await limiter.check(auth);
    expect(refused).toMatchObject({ allowed: false, refusedBy: 'tokens' });
    expect(refused.tokens?.remaining).toBe(0);
    expect(refused.retryAfter).toBeGreaterThanOrEqual(1);
    // The refused request was not counted: 2 of 100 requests used.
    expect(refused.remaining).toBe(98);
    const h = rateLimitHeaders(refused);
    expect(h['x-ratelimit-limit-tokens']).toBe('1000');
    expect(h['x-ratelimit-remaining-tokens']).toBe('0');
    expect(h['x-ratelimit-reset-tokens']).toMatch(/^(\d+m)?\d+s$/);
  });

  it("names a key's own tokens-per-minute in its refusal and shows the tighter token budget", async () => {
    const { limiter } = backend().make(60_000);
    const auth = authFor('metered');
    auth.key.limits = { spendLimitMicros: null, spendPeriod: null, rpm: null, tpm: 300 };
    const first = await limiter.check(auth);
    // The key's 300 are tighter than the plan's 1,000: the headers show the key's budget.
    expect(first.tokens).toMatchObject({ limit: 300, remaining: 300 });
    await limiter.recordTokens(auth, 200);
    expect((await limiter.check(auth)).tokens).toMatchObject({ limit: 300, remaining: 100 });
    await limiter.recordTokens(auth, 200);
    const refused = await limiter.check(auth);
    expect(refused).toMatchObject({ allowed: false, refusedBy: 'tokens' });
    expect(refused.tokens).toMatchObject({ limit: 300, remaining: 0 });
    expect(rateLimitExceeded(refused).message).toMatch(/^Rate limit reached: 300 tokens per minute\./);
    const h = rateLimitHeaders(refused);
    expect(h['x-ratelimit-limit-tokens']).toBe('300');
    expect(h['x-ratelimit-remaining-tokens']).toBe('0');
    expect(Number(h['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('debits an absurd token count as the whole budget, without failing the store', async () => {
    const { limiter } = backend().make(60_000);
    const auth = authFor('metered');
    expect((await limiter.check(auth)).allowed).toBe(true);
    // A model server may report anything; Redis integers stop at 2^63.
    await limiter.recordTokens(auth, 1e20);
    const refused = await limiter.check(auth);
    expect(refused).toMatchObject({ allowed: false, refusedBy: 'tokens' });
    expect(refused.tokens).toMatchObject({ limit: 1_000, remaining: 0 });
    expect(limiter.status()).toBe('ok');
  });

  it('refuses an address after too many failed authentications, then lets it go', async () => {
    const { limiter, advance } = backend().make(1_000);
    const ip = `198.51.100.${Math.floor(Math.random() * 200)}`;
    for (let i = 0; i < 19; i++) await limiter.recordAuthFailure(ip);
    expect(limiter.guardAddress(ip)).toBeUndefined();
    await limiter.recordAuthFailure(ip);
    const blocked = limiter.guardAddress(ip);
    expect(blocked).toMatchObject({ allowed: false, refusedBy: 'auth_failures', limit: 20, remaining: 0 });
    expect(limiter.guardAddress('198.51.100.250')).toBeUndefined();
    await advance(blocked!.retryAfterMs! + 5);
    expect(limiter.guardAddress(ip)).toBeUndefined();
  });
}

describe('in-process limiter contract', () => {
  limiterContract(() => ({
    make(windowMs) {
      let now = Date.now();
      const clock = () => now;
      const store = new MemoryWindowStore({ windowMs, now: clock });
      const limiter = new SlidingWindowLimiter({ plans, store, windowMs, now: clock });
      return {
        limiter,
        advance: async (ms) => {
          now += ms;
        },
      };
    },
  }));
});

await describeWith('redis', 'Redis limiter contract', () => {
  let client: Redis;
  const limiters: RequestLimiter[] = [];
  beforeAll(async () => {
    client = new Redis(TEST_REDIS_URL, { enableOfflineQueue: true, maxRetriesPerRequest: 1 });
    await client.ping();
  });
  afterEach(async () => {
    await Promise.all(limiters.splice(0).map((l) => l.close()));
  });
  afterAll(async () => {
    await client.quit();
  });
  limiterContract(() => ({
    make(windowMs) {
      const store = new RedisWindowStore({
        client,
        fallback: new MemoryWindowStore({ windowMs }),
        keyPrefix: `test:${randomBase62(10)}:`,
        windowMs,
        onHealthChange: (degraded) => {
          if (degraded) throw new Error('Redis limiter degraded during the contract test');
        },
      });
      const limiter = new SlidingWindowLimiter({ plans, store, windowMs });
      limiters.push(limiter);
      return {
        limiter,
        advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      };
    },
  }));
});
