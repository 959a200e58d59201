import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, loginJson } from '../accounts/http.js';
import { movableClock, type SignedUp, startTestGateway, type TestGateway } from '../support/gateway.js';

const MODEL = 'test/priced';
/** The same price, streamed slowly: requests stay in flight together. */
const SLOW_MODEL = 'test/priced-slow';

/** Per-key spend budgets (reset on schedule) and per-key rate limits, below the organization's. */
describe('per-key budgets and limits', () => {
  const clock = movableClock();
  let gw: TestGateway;
  let owner: SignedUp;
  let session: { cookie: string; csrf: string };

  const chat = (key: string) =>
    call(gw.url, 'POST', '/v1/chat/completions', {
      key,
      json: { model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'Say something short' }] },
    });
  /** A stream from the slow model: it stays in flight for a while. */
  const slowStream = (key: string) =>
    call(gw.url, 'POST', '/v1/chat/completions', {
      key,
      json: {
        model: SLOW_MODEL,
        stream: true,
        max_tokens: 5,
        messages: [{ role: 'user', content: 'Say something short' }],
      },
    });

  const createKey = async (body: Record<string, unknown>) => {
    const res = await call(gw.url, 'POST', '/admin/keys', { ...session, json: body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: string; api_key: string; spend_limit: unknown; rpm: number | null };
  };

  beforeAll(async () => {
    // A day well inside a month, so moving to the next day does not also start a new month.
    clock.moveTo(Date.UTC(2026, 10, 10, 12));
    gw = await startTestGateway({
      clock: clock.now,
      config: {
        providers: [
          { id: 'sim', type: 'simulator' },
          { id: 'slow', type: 'simulator', tokenDelayMs: 40 },
        ],
        // Priced so that a short request costs about half a cent.
        models: [
          {
            id: MODEL,
            contextWindow: 256,
            pricing: { inputPerMTok: 400, outputPerMTok: 400 },
            routes: [{ provider: 'sim' }],
          },
          {
            id: SLOW_MODEL,
            contextWindow: 256,
            pricing: { inputPerMTok: 400, outputPerMTok: 400 },
            routes: [{ provider: 'slow' }],
          },
        ],
      },
    });
    owner = await gw.signUp('budget-owner@example.com');
    session = await loginJson(gw.url, owner.email, owner.password);
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('a key over its daily budget gets 402 naming the key budget; another key keeps working; it resets the next day', async () => {
    const limited = await createKey({ name: 'capped', spend_limit: { usd: '0.01', period: 'day' } });
    expect(limited.spend_limit).toEqual({ usd: '0.010000', period: 'day' });
    const other = await createKey({ name: 'free' });

    const statuses: number[] = [];
    let refusal: { status: number; body: { error: Record<string, unknown> } } | undefined;
    for (let i = 0; i < 10 && !refusal; i++) {
      const res = await chat(limited.api_key);
      statuses.push(res.status);
      if (res.status !== 200) refusal = res;
    }
    // At least one request got through and crossed the budget before the refusal.
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    expect(refusal?.status).toBe(402);
    expect(refusal?.body.error).toMatchObject({ type: 'insufficient_quota', code: 'key_budget_exceeded' });
    expect(String(refusal?.body.error.message)).toMatch(
      /API key \('capped'\).*budget of \$0\.010000 per day/,
    );
    expect(String(refusal?.body.error.message)).toContain("organization's credits are not exhausted");

    expect((await chat(other.api_key)).status).toBe(200);
    expect((await chat(limited.api_key)).status).toBe(402);

    // key.budget_reached is in the event outbox once, with the key scope.
    const events = await gw.server.container.database.db
      .selectFrom('outbox_events')
      .select('payload')
      .where('tenant_id', '=', owner.tenantId)
      .where('type', '=', 'key.budget_reached')
      .execute();
    expect(events).toHaveLength(1);
    const event = JSON.parse(events[0]!.payload);
    expect(event.data).toMatchObject({ key_id: limited.id, scope: 'key', period: 'day', limit: '0.010000' });

    // The next UTC day, the budget starts again.
    clock.moveTo(Date.UTC(2026, 10, 11, 0, 0, 1));
    expect((await chat(limited.api_key)).status).toBe(200);
  });

  it("rotating a key over its budget does not give it a fresh budget: the period's spend carries over", async () => {
    const limited = await createKey({ name: 'rotated', spend_limit: { usd: '0.01', period: 'day' } });
    let status = 200;
    for (let i = 0; i < 10 && status === 200; i++) status = (await chat(limited.api_key)).status;
    expect(status).toBe(402);
    const rotated = await call(gw.url, 'POST', '/admin/keys/rotate', { key: limited.api_key, json: {} });
    expect(rotated.status).toBe(200);
    expect(rotated.body.spend_limit).toEqual({ usd: '0.010000', period: 'day' });
    const refused = await chat(rotated.body.api_key);
    expect(refused.status).toBe(402);
    expect(refused.body.error.code).toBe('key_budget_exceeded');
  });

  it('owners change and remove a key budget with PATCH; the change is audited and applies at once', async () => {
    const key = await createKey({ name: 'tiny', spend_limit: { usd: '0.000001', period: 'month' } });
    expect((await chat(key.api_key)).status).toBe(200);
    expect((await chat(key.api_key)).status).toBe(402);
    const lifted = await call(gw.url, 'PATCH', `/admin/keys/${key.id}`, {
      ...session,
      json: { spend_limit: null },
    });
    expect(lifted.status).toBe(200);
    expect(lifted.body.spend_limit).toBeNull();
    expect((await chat(key.api_key)).status).toBe(200);
    const audit = await call(gw.url, 'GET', '/admin/audit', session);
    const entry = audit.body.data.find((e: { action: string }) => e.action === 'key.updated');
    expect(entry).toMatchObject({ target: key.id, detail: { after: {} } });
    expect(entry.detail.before.spend_limit).toEqual({ micros: 1, period: 'month' });
    const bad = await call(gw.url, 'PATCH', `/admin/keys/${key.id}`, {
      ...session,
      json: { spend_limit: { usd: 'lots', period: 'day' } },
    });
    expect(bad.status).toBe(400);
  });

  it('a key with its own rpm is refused with 429 while another key of the organization goes on', async () => {
    const slow = await createKey({ name: 'slow', rpm: 2 });
    expect(slow.rpm).toBe(2);
    const other = await createKey({ name: 'other' });
    const models = (key: string) => call(gw.url, 'GET', '/v1/models', { key });
    expect((await chat(slow.api_key)).status).toBe(200);
    expect((await chat(slow.api_key)).status).toBe(200);
    const third = await chat(slow.api_key);
    expect(third.status).toBe(429);
    expect(third.headers.get('x-ratelimit-limit')).toBe('2');
    expect(third.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await models(other.api_key)).status).toBe(200);
  });

  it('parallel requests of a key overshoot its budget by at most one request, not by all of them', async () => {
    const limited = await createKey({ name: 'burst', spend_limit: { usd: '0.05', period: 'day' } });
    // Each request may cost up to about $0.014 (its prompt bound plus max_tokens at $400/MTok).
    const statuses = await Promise.all(Array.from({ length: 20 }, () => slowStream(limited.api_key)));
    const admitted = statuses.filter((r) => r.status === 200).length;
    for (const r of statuses) if (r.status !== 200) expect(r.body.error.code).toBe('key_budget_exceeded');
    await gw.server.container.keyBudgets.drain();
    const spend = await gw.server.container.database.db
      .selectFrom('key_spend')
      .select('spent_micros')
      .where('key_id', '=', limited.id)
      .executeTakeFirstOrThrow();
    expect(admitted).toBeGreaterThan(0);
    // Before: all 20 were admitted at once and the key spent about $0.1 of its $0.05.
    expect(Number(spend.spent_micros)).toBeLessThan(50_000 + 15_000);
    // What the requests in flight held is given back as they settle: with budget left, the key works.
    expect((await chat(limited.api_key)).status).toBe(200);
  });
  it('requests in flight when a key is rotated count against the new key', async () => {
    const limited = await createKey({ name: 'rotating', spend_limit: { usd: '1', period: 'day' } });
    const streams = Array.from({ length: 5 }, () => slowStream(limited.api_key));
    await new Promise((resolve) => setTimeout(resolve, 60));
    const rotated = await call(gw.url, 'POST', '/admin/keys/rotate', { key: limited.api_key, json: {} });
    expect(rotated.status).toBe(200);
    for (const r of await Promise.all(streams)) expect(r.status).toBe(200);
    await gw.server.container.billing.meter.flush();
    await gw.server.container.keyBudgets.drain();
    const spent = async (keyId: string) =>
      Number(
        (
          await gw.server.container.database.db
            .selectFrom('key_spend')
            .select('spent_micros')
            .where('key_id', '=', keyId)
            .executeTakeFirst()
        )?.spent_micros ?? 0,
      );
    const old = await spent(limited.id);
    expect(old).toBeGreaterThan(0);
    // Before: the new key started from what the old one had spent when it was rotated, without the
    // requests still running, so rotating mid-flight took their cost off the budget.
    expect(await spent(rotated.body.id as string)).toBe(old);
  });
});
