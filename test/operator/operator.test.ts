import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../accounts/http.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeWith } from '../support/services.js';

const ADMIN_TOKEN = 'operator-token-0123456789abcdef';
const op = { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } };

for (const dialect of ['sqlite', 'postgres'] as const) {
  const run = (name: string, suite: () => void) =>
    dialect === 'sqlite' ? describe(name, suite) : describeWith('pg', name, suite);
  await run(`operator API (${dialect})`, () => {
    let gw: TestApp;
    beforeAll(async () => {
      gw = await startTestApp({ dialect, env: { SIMO_ADMIN_TOKEN: ADMIN_TOKEN } });
    });
    afterAll(async () => {
      await gw?.close();
    });

    it('refuses missing, wrong and tenant credentials', async () => {
      const a = await gw.signUp();
      const none = await call(gw.app, 'GET', '/operator/tenants');
      expect(none.status).toBe(401);
      expect(none.body.error.code).toBe('invalid_admin_token');
      const wrong = await call(gw.app, 'GET', '/operator/tenants', {
        headers: { authorization: 'Bearer nope' },
      });
      expect(wrong.status).toBe(401);
      const almost = await call(gw.app, 'GET', '/operator/tenants', {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}x` },
      });
      expect(almost.status).toBe(401);
      const tenantKey = await call(gw.app, 'GET', '/operator/tenants', { key: a.apiKey });
      expect(tenantKey.status).toBe(401);
      expect(
        (await call(gw.app, 'PATCH', `/operator/tenants/${a.tenantId}`, { json: { plan: 'enterprise' } }))
          .status,
      ).toBe(401);
    });

    it('creates a tenant with a key shown once, lists and pages through tenants', async () => {
      const created = await call(gw.app, 'POST', '/operator/tenants', {
        ...op,
        json: { email: 'Big.Customer@example.com', plan: 'enterprise', name: 'Big Customer' },
      });
      expect(created.status).toBe(201);
      expect(created.body.tenant).toMatchObject({
        object: 'tenant',
        email: 'big.customer@example.com',
        name: 'Big Customer',
        plan: 'enterprise',
        rpm: null,
        models: null,
        suspended: false,
      });
      expect(created.body.api_key).toMatch(/^sk-simo-/);
      expect((await call(gw.app, 'GET', '/v1/models', { key: created.body.api_key })).status).toBe(200);

      const badPlan = await call(gw.app, 'POST', '/operator/tenants', {
        ...op,
        json: { email: 'x@example.com', plan: 'gold' },
      });
      expect(badPlan.status).toBe(400);
      expect(badPlan.body.error.param).toBe('plan');
      const duplicate = await call(gw.app, 'POST', '/operator/tenants', {
        ...op,
        json: { email: 'big.customer@EXAMPLE.com' },
      });
      expect(duplicate.status).toBe(409);
      expect(duplicate.body.error.code).toBe('email_taken');
      const noEmail = await call(gw.app, 'POST', '/operator/tenants', { ...op, json: {} });
      expect(noEmail.status).toBe(400);
      expect(noEmail.body.error.param).toBe('email');

      for (let i = 0; i < 3; i++) await gw.signUp();
      const seen: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 20; page++) {
        const q: string = after ? `?limit=2&after=${after}` : '?limit=2';
        const res = await call(gw.app, 'GET', `/operator/tenants${q}`, op);
        expect(res.status).toBe(200);
        expect(res.body.data.length).toBeLessThanOrEqual(2);
        seen.push(...res.body.data.map((t: { id: string }) => t.id));
        after = res.body.next_cursor;
        if (!res.body.has_more) break;
      }
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toContain(created.body.tenant.id);
      expect(seen.length).toBeGreaterThanOrEqual(4);
      const badLimit = await call(gw.app, 'GET', '/operator/tenants?limit=0', op);
      expect(badLimit.status).toBe(400);
      expect(badLimit.body.error.param).toBe('limit');
    });

    it('GET /operator/tenants/{id}: 404 for unknown ids', async () => {
      const a = await gw.signUp();
      const got = await call(gw.app, 'GET', `/operator/tenants/${a.tenantId}`, op);
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({ id: a.tenantId, email: a.email, plan: 'starter', effective_rpm: 60 });
      const missing = await call(gw.app, 'GET', '/operator/tenants/ten_nope', op);
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe('not_found');
    });

    it('PATCH changes plan, rpm, models and suspension; caches drop at once; audit records each change', async () => {
      const a = await gw.signUp();
      // Warm the key cache first so the test proves invalidation, not a cold read.
      expect((await call(gw.app, 'GET', '/v1/models', { key: a.apiKey })).status).toBe(200);

      const patched = await call(gw.app, 'PATCH', `/operator/tenants/${a.tenantId}`, {
        ...op,
        json: { plan: 'enterprise', rpm: 1234, models: ['qwen/qwen3-8b'] },
      });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({
        plan: 'enterprise',
        rpm: 1234,
        effective_rpm: 1234,
        models: ['qwen/qwen3-8b'],
      });

      const models = await call(gw.app, 'GET', '/v1/models', { key: a.apiKey });
      expect(models.body.data.map((m: { id: string }) => m.id)).toEqual(['qwen/qwen3-8b']);
      expect(models.headers.get('x-ratelimit-limit')).toBe('1234');

      const suspended = await call(gw.app, 'PATCH', `/operator/tenants/${a.tenantId}`, {
        ...op,
        json: { suspended: true },
      });
      expect(suspended.body.suspended).toBe(true);
      const refused = await call(gw.app, 'GET', '/v1/models', { key: a.apiKey });
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({ code: 'tenant_suspended', type: 'permission_error' });
      await call(gw.app, 'PATCH', `/operator/tenants/${a.tenantId}`, {
        ...op,
        json: { suspended: false, rpm: null, models: null },
      });
      const back = await call(gw.app, 'GET', '/v1/models', { key: a.apiKey });
      expect(back.status).toBe(200);
      expect(back.body.data.length).toBeGreaterThan(1);
      expect(back.headers.get('x-ratelimit-limit')).toBe('6000');

      const audit = await call(gw.app, 'GET', '/admin/audit?limit=100', { key: a.apiKey });
      const actions = audit.body.data.map((e: { action: string }) => e.action);
      expect(actions).toEqual(
        expect.arrayContaining([
          'tenant.plan_changed',
          'tenant.rpm_changed',
          'tenant.models_changed',
          'tenant.suspended',
          'tenant.resumed',
        ]),
      );
      const plan = audit.body.data.find((e: { action: string }) => e.action === 'tenant.plan_changed');
      expect(plan).toMatchObject({
        actor: 'operator',
        target: a.tenantId,
        detail: { from: 'starter', to: 'enterprise' },
        // The operator's address is not the tenant's business.
        ip: null,
      });
    });

    it('PATCH validates its input', async () => {
      const a = await gw.signUp();
      const cases: Array<[unknown, string]> = [
        [{ plan: 'gold' }, 'plan'],
        [{ models: ['qwen/qwen3-8b', 'gpt-9'] }, 'models[1]'],
        [{ rpm: -1 }, 'rpm'],
        [{ rpm: 1.5 }, 'rpm'],
        [{ suspended: 'yes' }, 'suspended'],
        [{ colour: 'red' }, 'body'],
      ];
      for (const [json, param] of cases) {
        const res = await call(gw.app, 'PATCH', `/operator/tenants/${a.tenantId}`, { ...op, json });
        expect(res.status, JSON.stringify(json)).toBe(400);
        if (param !== 'body') expect(res.body.error.param).toBe(param);
      }
      const unknown = await call(gw.app, 'PATCH', '/operator/tenants/ten_nope', {
        ...op,
        json: { plan: 'starter' },
      });
      expect(unknown.status).toBe(404);
    });
  });
}

describe('operator API without SIMO_ADMIN_TOKEN', () => {
  it('answers 404 on every route', async () => {
    const gw = await startTestApp();
    try {
      for (const [method, path] of [
        ['GET', '/operator/tenants'],
        ['POST', '/operator/tenants'],
        ['GET', '/operator/tenants/ten_x'],
        ['PATCH', '/operator/tenants/ten_x'],
      ] as const) {
        const res = await call(gw.app, method, path, {
          headers: { authorization: 'Bearer anything-at-all-here' },
        });
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.body.error.type).toBe('invalid_request_error');
      }
    } finally {
      await gw.close();
    }
  });
});

describe('model entitlements', () => {
  let gw: TestApp;
  beforeAll(async () => {
    gw = await startTestApp();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('lists only allowed models and answers the exact 404 for others', async () => {
    const a = await gw.signUp();
    const all = await call(gw.app, 'GET', '/v1/models', { key: a.apiKey });
    const ids = all.body.data.map((m: { id: string }) => m.id) as string[];
    expect(ids.length).toBeGreaterThan(1);
    const [allowed, ...others] = ids;
    await gw.container.operatorTenants.update(
      a.tenantId,
      { allowedModels: [allowed!] },
      { actor: 'test', ip: null },
    );

    const list = await call(gw.app, 'GET', '/v1/models', { key: a.apiKey });
    expect(list.body.data.map((m: { id: string }) => m.id)).toEqual([allowed]);
    expect((await call(gw.app, 'GET', `/v1/models/${allowed}`, { key: a.apiKey })).status).toBe(200);
    for (const model of [...others, 'gpt-5']) {
      const one = await call(gw.app, 'GET', `/v1/models/${model}`, { key: a.apiKey });
      expect(one.status).toBe(404);
      const chat = await call(gw.app, 'POST', '/v1/chat/completions', {
        key: a.apiKey,
        json: { model, messages: [{ role: 'user', content: 'hi' }] },
      });
      expect(chat.status).toBe(404);
      expect(chat.body).toEqual({
        error: {
          type: 'invalid_request_error',
          code: 'model_not_found',
          message: `Model '${model}' is not available on this tenant.`,
          param: 'model',
        },
      });
    }
  });
});
