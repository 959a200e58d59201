/**
 * Rate limits over real HTTP (in-process limiter, SQLite): exact admission, headers on every
 * authenticated response (200, 4xx, 429, streams), 429s that never reach the upstream nor the meter,
 * and the per-address guard in front of authentication.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDuration } from '../../src/ratelimit/headers.js';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { type SignedUp, startTestGateway, type TestGateway } from '../support/gateway.js';

const chatBody = { model: 'qwen/qwen3-8b', messages: [{ role: 'user', content: 'hi' }] };

describe('rate limits over HTTP (in-process)', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    gw = await startTestGateway({
      env: { SIMO_UPSTREAM_URL: upstream.v1, SIMO_TRUST_PROXY: 'true' },
      config: {
        plans: { starter: { rpm: 5 }, professional: { rpm: 600 } },
        limits: { authFailuresPerMinute: 4 },
      },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await upstream?.stop();
  });

  const chat = (t: SignedUp, body: object = chatBody, headers: Record<string, string> = {}) =>
    fetch(`${gw.v1}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('admits exactly the limit from a concurrent burst; 429s never reach the upstream or the meter', async () => {
    const t = await gw.signUp();
    await upstream.resetStats();
    const responses = await Promise.all(Array.from({ length: 20 }, () => chat(t)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    expect((await upstream.stats()).chat).toBe(5);

    const limited = responses.find((r) => r.status === 429)!;
    expect(await limited.json()).toEqual({
      error: expect.objectContaining({ type: 'rate_limit_error', code: 'rate_limit_exceeded' }),
    });
    const retryAfter = Number(limited.headers.get('retry-after'));
    const reset = Number(limited.headers.get('x-ratelimit-reset'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const dateSec = Math.floor(Date.parse(limited.headers.get('date')!) / 1000);
    expect(Math.abs(reset - (dateSec + retryAfter))).toBeLessThanOrEqual(1);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(limited.headers.get('x-ratelimit-limit')).toBe('5');
    expect(limited.headers.get('x-ratelimit-reset-requests')).toBe(formatDuration(retryAfter));

    await gw.server.container.meter.flush();
    const metered = await gw.server.container.database.db
      .selectFrom('usage_records')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', t.tenantId)
      .executeTakeFirstOrThrow();
    expect(Number(metered.n)).toBe(5);

    const decisions = await gw.server.container.metrics.limiterDecisions.get();
    const count = (decision: string) =>
      decisions.values.find((v) => v.labels.decision === decision && v.labels.backend === 'memory')?.value ??
      0;
    expect(count('allowed')).toBeGreaterThanOrEqual(5);
    expect(count('refused_requests')).toBeGreaterThanOrEqual(15);
  });

  it('counts Remaining down without gaps and puts headers on 200s and 4xx errors alike', async () => {
    const t = await gw.signUp();
    const seen: string[] = [];
    const ok = await chat(t);
    expect(ok.status).toBe(200);
    seen.push(ok.headers.get('x-ratelimit-remaining')!);
    for (const h of [
      'x-ratelimit-limit',
      'x-ratelimit-reset',
      'x-ratelimit-limit-requests',
      'x-ratelimit-reset-requests',
      'ratelimit-policy',
    ])
      expect(ok.headers.get(h), h).toBeTruthy();
    expect(ok.headers.get('retry-after')).toBeNull();
    const notFound = await chat(t, { ...chatBody, model: 'no/such-model' });
    expect(notFound.status).toBe(404);
    seen.push(notFound.headers.get('x-ratelimit-remaining')!);
    const invalid = await chat(t, { model: 'qwen/qwen3-8b' });
    expect(invalid.status).toBe(400);
    seen.push(invalid.headers.get('x-ratelimit-remaining')!);
    const models = await fetch(`${gw.v1}/models`, { headers: { 'x-api-key': t.apiKey } });
    seen.push(models.headers.get('x-ratelimit-remaining')!);
    expect(seen).toEqual(['4', '3', '2', '1']);
    expect(notFound.headers.get('retry-after')).toBeNull();
    expect(Number(ok.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000));
  });

  it('sends the headers on streams before the first chunk', async () => {
    const t = await gw.signUp();
    const res = await chat(t, { ...chatBody, stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    expect(res.headers.get('x-ratelimit-limit')).toBe('5');
    expect(res.headers.get('x-ratelimit-remaining')).toBe('4');
    expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('4');
    expect(Number(res.headers.get('x-ratelimit-reset'))).toBeGreaterThan(0);
    expect(await res.text()).toContain('[DONE]');
  });

  it('does not count unauthenticated requests against any tenant', async () => {
    const t = await gw.signUp();
    for (let i = 0; i < 3; i++) {
      const res = await chat({ ...t, apiKey: 'sk-simo-not-a-real-key' }, chatBody, {
        'x-forwarded-for': '203.0.113.99',
      });
      expect(res.status).toBe(401);
    }
    const res = await chat(t);
    expect(res.headers.get('x-ratelimit-remaining')).toBe('4');
  });

  it('refuses an address after repeated failed authentications, before looking at keys', async () => {
    const t = await gw.signUp();
    const from = { 'x-forwarded-for': '203.0.113.7' };
    const bad = { ...t, apiKey: `${t.apiKey.slice(0, -4)}zzzz` };
    for (let i = 0; i < 4; i++) expect((await chat(bad, chatBody, from)).status).toBe(401);
    const refused = await chat(t, chatBody, from);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await refused.json()) as object).toMatchObject({ error: { code: 'rate_limit_exceeded' } });
    // Another address with the same key is unaffected, and the tenant's budget was not touched.
    const fine = await chat(t, chatBody, { 'x-forwarded-for': '203.0.113.8' });
    expect(fine.status).toBe(200);
    expect(fine.headers.get('x-ratelimit-remaining')).toBe('4');
  });

  it('reports the limiter in /readyz', async () => {
    const res = await fetch(`${gw.url}/readyz`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { checks: Record<string, string> }).checks.rate_limiter).toBe('ok');
  });
});

describe('tokens per minute over HTTP', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    gw = await startTestGateway({
      env: { SIMO_UPSTREAM_URL: upstream.v1, SIMO_TRUST_PROXY: 'true' },
      config: { plans: { starter: { rpm: 100, tpm: 60 } } },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await upstream?.stop();
  });

  it('shows the token budget, debits actual usage after each answer and refuses once it is spent', async () => {
    const t = await gw.signUp();
    const send = () =>
      fetch(`${gw.v1}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(chatBody),
      });
    const first = await send();
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit-tokens')).toBe('60');
    expect(first.headers.get('x-ratelimit-remaining-tokens')).toBe('60');
    const { usage } = (await first.json()) as { usage: { total_tokens: number } };
    expect(usage.total_tokens).toBeGreaterThan(0);
    const second = await send();
    expect(second.headers.get('x-ratelimit-remaining-tokens')).toBe(
      String(Math.max(0, 60 - usage.total_tokens)),
    );
    let refused: Response | undefined;
    for (let i = 0; i < 20 && !refused; i++) {
      const r = await send();
      if (r.status === 429) refused = r;
    }
    expect(refused).toBeDefined();
    expect(refused!.headers.get('x-ratelimit-remaining-tokens')).toBe('0');
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await refused!.json()) as { error: { message: string } }).error.message).toMatch(
      /60 tokens per minute/,
    );
  });
});

describe('tokens per minute when the model server reports no usage', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    gw = await startTestGateway({
      env: { SIMO_UPSTREAM_URL: upstream.v1, SIMO_TRUST_PROXY: 'true' },
      config: { plans: { starter: { rpm: 100, tpm: 1_000 } } },
      logLevel: 'error',
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await upstream?.stop();
  });

  it('debits token-id embeddings inputs (no text to estimate from) as the meter bills them', async () => {
    await upstream.control('no-usage', 100);
    const t = await gw.signUp();
    // 5,000 token ids: no text at all, so an estimate from characters alone would debit nothing.
    const input = [Array.from({ length: 5_000 }, (_, i) => i % 1_000)];
    const send = () =>
      fetch(`${gw.v1}/embeddings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'qwen/qwen3-embedding-0.6b', input }),
      });
    const first = await send();
    const answer = (await first.json()) as { usage?: unknown };
    expect(first.status, JSON.stringify(answer)).toBe(200);
    expect(answer.usage).toBeUndefined();
    const second = await send();
    expect(second.status).toBe(429);
    expect(second.headers.get('x-ratelimit-remaining-tokens')).toBe('0');
    expect(((await second.json()) as { error: { message: string } }).error.message).toMatch(
      /1000 tokens per minute/,
    );
  });
});
