import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { describeWith } from '../support/services.js';
import { call, cookiePair, loginJson } from './http.js';

/** Every row of every table, as text, so secrets can be searched for. */
async function dumpDatabase(gw: TestGateway): Promise<string> {
  const { db, dialect } = gw.server.container.database;
  const tables =
    dialect === 'sqlite'
      ? (
          await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(db)
        ).rows.map((r) => r.name)
      : (
          await sql<{
            name: string;
          }>`select table_name as name from information_schema.tables where table_schema = 'public'`.execute(
            db,
          )
        ).rows.map((r) => r.name);
  expect(tables).toEqual(
    expect.arrayContaining(['api_keys', 'users', 'sessions', 'audit_log', 'outbox_events']),
  );
  let dump = '';
  for (const table of tables) {
    const rows = await sql`select * from ${sql.table(table)}`.execute(db);
    dump += `${table}\n${JSON.stringify(rows.rows)}\n`;
  }
  return dump;
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  const run = (name: string, body: () => void) =>
    dialect === 'sqlite' ? describe(name, body) : describeWith('pg', name, body);

  await run(`tenant isolation and secrets at rest (${dialect})`, () => {
    let gw: TestGateway;
    const logs: string[] = [];
    beforeAll(async () => {
      gw = await startTestGateway({
        dialect,
        logLevel: 'trace',
        logStream: { write: (line: string) => void logs.push(line) },
      });
    });
    afterAll(async () => {
      await gw?.stop();
    });

    it('tenant B cannot see or touch anything of tenant A on /admin/keys* and /admin/audit', async () => {
      const a = await gw.signUp();
      const b = await gw.signUp();
      const extra = await call(gw.url, 'POST', '/admin/keys', {
        key: a.apiKey,
        json: { name: 'a-secondary' },
      });
      const aKeyIds = [a.keyId, extra.body.id as string];
      const bSession = await loginJson(gw.url, b.email, b.password);
      const asB = [
        { label: 'B key', opts: { key: b.apiKey } },
        { label: 'B session', opts: { cookie: bSession.cookie, csrf: bSession.csrf } },
      ];
      for (const { label, opts } of asB) {
        for (const id of aKeyIds) {
          const del = await call(gw.url, 'DELETE', `/admin/keys/${id}`, opts);
          expect(del.status, `${label} DELETE`).toBe(404);
          expect(del.body.error.code).toBe('not_found');
          expect(JSON.stringify(del.body)).not.toContain(a.tenantId);
          const rot = await call(gw.url, 'POST', '/admin/keys/rotate', { ...opts, json: { key_id: id } });
          expect(rot.status, `${label} rotate`).toBe(404);
          expect(rot.body.error.message).toBe(del.body.error.message);
        }
        const list = await call(gw.url, 'GET', '/admin/keys', opts);
        expect(list.status).toBe(200);
        const listed = JSON.stringify(list.body);
        for (const id of aKeyIds) expect(listed).not.toContain(id);
        const audit = await call(gw.url, 'GET', '/admin/audit?limit=100', opts);
        expect(audit.status).toBe(200);
        const entries = JSON.stringify(audit.body);
        expect(entries).not.toContain(a.tenantId);
        for (const id of aKeyIds) expect(entries).not.toContain(id);
        expect(entries).not.toContain(a.email);
        // A's audit cursor gives B nothing of A either.
        const aAudit = await call(gw.url, 'GET', '/admin/audit?limit=1', { key: a.apiKey });
        const paged = await call(
          gw.url,
          'GET',
          `/admin/audit?after=${Number(aAudit.body.data[0].id) + 1}`,
          opts,
        );
        expect(JSON.stringify(paged.body)).not.toContain(a.tenantId);
      }
      // A's keys all still work.
      expect((await call(gw.url, 'GET', '/v1/models', { key: a.apiKey })).status).toBe(200);
      expect((await call(gw.url, 'GET', '/v1/models', { key: extra.body.api_key })).status).toBe(200);
      // B's own key is unharmed too, and A's session cannot act for B.
      const aSession = await loginJson(gw.url, a.email, a.password);
      const cross = await call(gw.url, 'DELETE', `/admin/keys/${b.keyId}`, {
        cookie: aSession.cookie,
        csrf: bSession.csrf,
      });
      expect(cross.status).toBe(403);
    });

    it('GET /admin/audit paginates newest first with a cursor and validates its query', async () => {
      const a = await gw.signUp();
      for (let i = 0; i < 4; i++)
        await call(gw.url, 'POST', '/admin/keys', { key: a.apiKey, json: { name: `k${i}` } });
      const ids: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 10; page++) {
        const q: string = after ? `?limit=2&after=${after}` : '?limit=2';
        const res = await call(gw.url, 'GET', `/admin/audit${q}`, { key: a.apiKey });
        expect(res.status).toBe(200);
        ids.push(...res.body.data.map((e: { id: string }) => e.id));
        after = res.body.next_cursor;
        if (!res.body.has_more) break;
      }
      expect(ids).toHaveLength(5);
      expect([...ids].sort((x, y) => Number(y) - Number(x))).toEqual(ids);
      for (const bad of ['limit=0', 'limit=101', 'limit=abc', 'after=xyz', 'after=-1']) {
        const res = await call(gw.url, 'GET', `/admin/audit?${bad}`, { key: a.apiKey });
        expect(res.status, bad).toBe(400);
        expect(res.body.error.param).toBe(bad.split('=')[0]);
      }
    });

    it('no plaintext key, password or session id in the database or the logs', async () => {
      const secrets: string[] = [];
      const a = await gw.signUp();
      secrets.push(a.apiKey, a.password);
      const created = await call(gw.url, 'POST', '/admin/keys', { key: a.apiKey, json: {} });
      secrets.push(created.body.api_key);
      const rotated = await call(gw.url, 'POST', '/admin/keys/rotate', {
        key: created.body.api_key,
        json: {},
      });
      secrets.push(rotated.body.api_key);
      const session = await loginJson(gw.url, a.email, a.password);
      secrets.push(session.cookie.split('=')[1]!, session.csrf);
      const failedPassword = 'a wrong password typed by mistake';
      await call(gw.url, 'POST', '/login', { json: { email: a.email, password: failedPassword } });
      secrets.push(failedPassword);
      const formToken = 'z'.repeat(43);
      const form = await call(gw.url, 'POST', '/register', {
        cookie: `simo_form_csrf=${formToken}`,
        form: {
          email: `form-${Date.now()}@example.com`,
          password: 'form sign-up password',
          _csrf: formToken,
        },
      });
      secrets.push('form sign-up password', cookiePair(form.cookies, 'simo_session')!.split('=')[1]!);
      // Use the keys through every header style, including a failing call that gets logged.
      await call(gw.url, 'GET', '/v1/models', { headers: { 'x-api-key': rotated.body.api_key } });
      await call(gw.url, 'GET', '/v1/models', { key: a.apiKey });
      await call(gw.url, 'POST', '/v1/chat/completions', {
        key: rotated.body.api_key,
        json: { model: 'qwen/qwen3-8b', messages: [{ role: 'user', content: 'hello' }] },
      });

      const dump = await dumpDatabase(gw);
      expect(dump).toContain(a.tenantId);
      expect(logs.length).toBeGreaterThan(0);
      const logText = logs.join('');
      for (const secret of secrets) {
        expect(dump.includes(secret), `database holds ${secret.slice(0, 10)}…`).toBe(false);
        expect(logText.includes(secret), `logs hold ${secret.slice(0, 10)}…`).toBe(false);
      }
      expect(dump).not.toMatch(/sk-simo-[0-9A-Za-z]{38}/);
      expect(logText).not.toMatch(/sk-simo-[0-9A-Za-z]{38}/);
    });
  });
}
