import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { describeWith } from '../support/services.js';
import { call, loginJson } from './http.js';

for (const dialect of ['sqlite', 'postgres'] as const) {
  const run = (name: string, body: () => void) =>
    dialect === 'sqlite' ? describe(name, body) : describeWith('pg', name, body);
  await run(`/admin/keys (${dialect})`, () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startTestGateway({ dialect });
    });
    afterAll(async () => {
      await gw?.stop();
    });

    it('lists keys without secrets, creates one shown once, and revokes it', async () => {
      const a = await gw.signUp();
      const list = await call(gw.url, 'GET', '/admin/keys', { key: a.apiKey });
      expect(list.status).toBe(200);
      expect(list.body.object).toBe('list');
      expect(list.body.data).toHaveLength(1);
      const first = list.body.data[0];
      expect(first).toMatchObject({
        id: a.keyId,
        object: 'api_key',
        prefix: a.apiKey.slice(0, 12),
        last4: a.apiKey.slice(-4),
        scopes: ['inference', 'admin'],
        status: 'active',
        revoked: null,
      });
      expect(JSON.stringify(list.body)).not.toContain(a.apiKey);

      const created = await call(gw.url, 'POST', '/admin/keys', {
        key: a.apiKey,
        json: { name: 'ci', scopes: ['inference'] },
      });
      expect(created.status).toBe(201);
      expect(created.headers.get('cache-control')).toBe('no-store');
      expect(created.body.api_key).toMatch(/^sk-simo-[0-9A-Za-z]{38}$/);
      expect(created.body).toMatchObject({ name: 'ci', scopes: ['inference'], status: 'active' });

      // The inference-only key works on /v1 but not on /admin.
      const models = await call(gw.url, 'GET', '/v1/models', { key: created.body.api_key });
      expect(models.status).toBe(200);
      const denied = await call(gw.url, 'GET', '/admin/keys', { key: created.body.api_key });
      expect(denied.status).toBe(403);
      expect(denied.body.error.code).toBe('key_scope');

      const del = await call(gw.url, 'DELETE', `/admin/keys/${created.body.id}`, { key: a.apiKey });
      expect(del.status).toBe(200);
      expect(del.body).toEqual({ id: created.body.id, object: 'api_key', deleted: true });
      const after = await call(gw.url, 'GET', '/v1/models', { key: created.body.api_key });
      expect(after.status).toBe(401);
      expect(after.body.error.code).toBe('invalid_api_key');
      const again = await call(gw.url, 'DELETE', `/admin/keys/${created.body.id}`, { key: a.apiKey });
      expect(again.status).toBe(404);

      const listed = await call(gw.url, 'GET', '/admin/keys', { key: a.apiKey });
      const revoked = listed.body.data.find((k: { id: string }) => k.id === created.body.id);
      expect(revoked.status).toBe('revoked');
      expect(typeof revoked.revoked).toBe('number');
    });

    it('shows when a key was last used', async () => {
      const a = await gw.signUp();
      expect((await call(gw.url, 'GET', '/v1/models', { key: a.apiKey })).status).toBe(200);
      // last_used is written in the background, off the request's path; poll briefly.
      let lastUsed: number | null = null;
      for (let i = 0; i < 40 && lastUsed === null; i++) {
        const list = await call(gw.url, 'GET', '/admin/keys', { key: a.apiKey });
        lastUsed = list.body.data[0].last_used;
        if (lastUsed === null) await new Promise((r) => setTimeout(r, 50));
      }
      expect(lastUsed).toBeGreaterThan(Date.now() / 1000 - 60);
    });

    it('rejects bad input with the error envelope and a param', async () => {
      const a = await gw.signUp();
      const bad = await call(gw.url, 'POST', '/admin/keys', { key: a.apiKey, json: { scopes: ['root'] } });
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ type: 'invalid_request_error', param: 'scopes[0]' });
      const badName = await call(gw.url, 'POST', '/admin/keys', { key: a.apiKey, json: { name: 42 } });
      expect(badName.status).toBe(400);
      expect(badName.body.error.param).toBe('name');
      const malformed = await fetch(`${gw.url}/admin/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${a.apiKey}`, 'content-type': 'application/json' },
        body: '{"name":',
      });
      expect(malformed.status).toBe(400);
      expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
      // A JSON content type with no body at all is taken as "no body", like a POST without one.
      const emptyJson = await call(gw.url, 'POST', '/admin/keys', {
        key: a.apiKey,
        headers: { 'content-type': 'application/json' },
      });
      expect(emptyJson.status).toBe(201);
      const noBody = await call(gw.url, 'POST', '/admin/keys', { key: a.apiKey });
      expect(noBody.status).toBe(201);
      expect(noBody.body.scopes).toEqual(['inference', 'admin']);
      const unknown = await call(gw.url, 'POST', '/admin/keys/rotate', {
        key: a.apiKey,
        json: { key_id: 'key_doesnotexist' },
      });
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.code).toBe('not_found');
      const anon = await call(gw.url, 'GET', '/admin/keys');
      expect(anon.status).toBe(401);
      expect(anon.body.error.code).toBe('missing_api_key');
      const wrong = await call(gw.url, 'GET', '/admin/keys', { key: `sk-simo-${'A'.repeat(38)}` });
      expect(wrong.status).toBe(401);
    });

    it('rotates the calling key: old key refused at once, new key works, event and audit recorded', async () => {
      const a = await gw.signUp();
      const rotated = await call(gw.url, 'POST', '/admin/keys/rotate', { key: a.apiKey, json: {} });
      expect(rotated.status).toBe(200);
      expect(rotated.body.rotated_key_id).toBe(a.keyId);
      expect(rotated.body.id).not.toBe(a.keyId);
      expect(rotated.body.name).toBe('Default key');
      const newKey = rotated.body.api_key as string;

      const old = await call(gw.url, 'GET', '/v1/models', { key: a.apiKey });
      expect(old.status).toBe(401);
      expect(old.headers.get('www-authenticate')).toContain('resource_metadata=');
      const fresh = await call(gw.url, 'GET', '/v1/models', { key: newKey });
      expect(fresh.status).toBe(200);

      // The openai SDK sees the same: AuthenticationError with the old key, success with the new one.
      const oldClient = new OpenAI({ baseURL: gw.v1, apiKey: a.apiKey, maxRetries: 0 });
      await expect(
        oldClient.chat.completions.create({
          model: 'qwen/qwen3-8b',
          messages: [{ role: 'user', content: 'hi' }],
        }),
      ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      const newClient = new OpenAI({ baseURL: gw.v1, apiKey: newKey, maxRetries: 0 });
      const completion = await newClient.chat.completions.create({
        model: 'qwen/qwen3-8b',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(completion.choices[0]?.message.role).toBe('assistant');

      const { db } = gw.server.container.database;
      const events = await db
        .selectFrom('outbox_events')
        .selectAll()
        .where('tenant_id', '=', a.tenantId)
        .execute();
      const rotatedEvent = events.find((e) => e.type === 'key.rotated');
      expect(rotatedEvent).toBeDefined();
      const payload = JSON.parse(rotatedEvent!.payload);
      expect(payload).toMatchObject({
        type: 'key.rotated',
        tenant_id: a.tenantId,
        data: { old_key_id: a.keyId, new_key_id: rotated.body.id },
      });
      expect(rotatedEvent!.payload).not.toContain(newKey);
      expect(rotatedEvent!.payload).not.toContain(a.apiKey);

      const audit = await call(gw.url, 'GET', '/admin/audit', { key: newKey });
      expect(audit.status).toBe(200);
      expect(audit.body.data[0]).toMatchObject({
        action: 'key.rotated',
        actor: `key:${a.keyId}`,
        target: a.keyId,
        ip: '127.0.0.1',
      });
      expect(audit.body.data.at(-1).action).toBe('account.signed_up');
    });

    it('rotates with an empty POST (no body, no Content-Type), as curl -X POST sends it', async () => {
      const a = await gw.signUp();
      const rotated = await call(gw.url, 'POST', '/admin/keys/rotate', { key: a.apiKey });
      expect(rotated.status).toBe(200);
      expect(rotated.body.rotated_key_id).toBe(a.keyId);
      expect((await call(gw.url, 'GET', '/v1/models', { key: a.apiKey })).status).toBe(401);
    });

    it('rotates another key by id, and the rotated key can no longer rotate', async () => {
      const a = await gw.signUp();
      const second = await call(gw.url, 'POST', '/admin/keys', { key: a.apiKey, json: { name: 'b' } });
      const rotated = await call(gw.url, 'POST', '/admin/keys/rotate', {
        key: a.apiKey,
        json: { key_id: second.body.id },
      });
      expect(rotated.status).toBe(200);
      expect(rotated.body.name).toBe('b');
      const oldAgain = await call(gw.url, 'POST', '/admin/keys/rotate', {
        key: second.body.api_key,
        json: {},
      });
      expect(oldAgain.status).toBe(401);
      const twice = await call(gw.url, 'POST', '/admin/keys/rotate', {
        key: a.apiKey,
        json: { key_id: second.body.id },
      });
      expect(twice.status).toBe(404);
      // The calling key itself still works.
      expect((await call(gw.url, 'GET', '/admin/keys', { key: a.apiKey })).status).toBe(200);
    });

    it('concurrent rotations of one key produce exactly one new key', async () => {
      const a = await gw.signUp();
      const results = await Promise.all(
        Array.from({ length: 4 }, () =>
          call(gw.url, 'POST', '/admin/keys/rotate', { key: a.apiKey, json: {} }),
        ),
      );
      const ok = results.filter((r) => r.status === 200);
      expect(ok).toHaveLength(1);
      for (const r of results) expect([200, 401, 404]).toContain(r.status);
      const list = await call(gw.url, 'GET', '/admin/keys', { key: ok[0]!.body.api_key });
      expect(list.body.data.filter((k: { status: string }) => k.status === 'active')).toHaveLength(1);
    });

    it('works with a dashboard session: reads freely, state changes need the CSRF token', async () => {
      const a = await gw.signUp();
      const { cookie, csrf } = await loginJson(gw.url, a.email, a.password);
      const list = await call(gw.url, 'GET', '/admin/keys', { cookie });
      expect(list.status).toBe(200);
      expect(list.body.data[0].id).toBe(a.keyId);
      expect(list.headers.get('x-ratelimit-limit')).toBeTruthy();

      const noCsrf = await call(gw.url, 'POST', '/admin/keys', { cookie, json: { name: 'x' } });
      expect(noCsrf.status).toBe(403);
      expect(noCsrf.body.error.code).toBe('csrf_failed');
      const wrongCsrf = await call(gw.url, 'POST', '/admin/keys', { cookie, csrf: `${csrf}x`, json: {} });
      expect(wrongCsrf.status).toBe(403);
      const created = await call(gw.url, 'POST', '/admin/keys', { cookie, csrf, json: { name: 'x' } });
      expect(created.status).toBe(201);
      // A form post from the dashboard carries the token as a field.
      const viaForm = await call(gw.url, 'POST', '/admin/keys', {
        cookie,
        form: { _csrf: csrf, name: 'form' },
      });
      expect(viaForm.status).toBe(201);
      expect(viaForm.body.name).toBe('form');

      const noKeyId = await call(gw.url, 'POST', '/admin/keys/rotate', { cookie, csrf, json: {} });
      expect(noKeyId.status).toBe(400);
      expect(noKeyId.body.error.param).toBe('key_id');
      const rotated = await call(gw.url, 'POST', '/admin/keys/rotate', {
        cookie,
        csrf,
        json: { key_id: a.keyId },
      });
      expect(rotated.status).toBe(200);
      const del = await call(gw.url, 'DELETE', `/admin/keys/${created.body.id}`, { cookie, csrf });
      expect(del.status).toBe(200);

      const audit = await call(gw.url, 'GET', '/admin/audit', { cookie });
      const actions = audit.body.data.map((e: { action: string }) => e.action);
      expect(actions.slice(0, 5)).toEqual([
        'key.revoked',
        'key.rotated',
        'key.created',
        'key.created',
        'auth.login',
      ]);
      expect(audit.body.data[0].actor).toMatch(/^user:usr_/);
    });
  });
}
