import { afterAll, beforeAll, expect, it } from 'vitest';
import { call } from '../accounts/http.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { describeWith, TEST_REDIS_URL } from '../support/services.js';
import { simosphere } from './cli-runner.js';

const chat = (gw: TestGateway, key: string) =>
  call(gw.url, 'POST', '/v1/chat/completions', {
    key,
    json: { model: 'qwen/qwen3-8b', messages: [{ role: 'user', content: 'hi' }] },
  });

/**
 * Tenant created by the CLI → key → call → rotated by the CLI → old key refused by the running
 * server → new key works. With Redis the server hears of the rotation at once, whatever its key
 * cache; without it, the server is run without a key cache to show the database side.
 */
for (const mode of ['no-redis', 'redis'] as const) {
  const body = () => {
    let gw: TestGateway;
    const env: Record<string, string> = mode === 'redis' ? { SIMO_REDIS_URL: TEST_REDIS_URL } : {};
    beforeAll(async () => {
      gw = await startTestGateway({
        env,
        ...(mode === 'no-redis' ? { config: { limits: { keyCacheTtlMs: 0 } } } : {}),
      });
      // The CLI works on the server's database, whichever it is.
      if (gw.database.databaseUrl) env.SIMO_DATABASE_URL = gw.database.databaseUrl;
    });
    afterAll(async () => {
      await gw?.stop();
    });

    it('create → call → rotate → old refused → new works (→ list, revoke)', async () => {
      const dir = gw.database.dataDir;
      const created = await simosphere(
        dir,
        ['tenant', 'create', '--email', `cli-${mode}@example.com`, '--json'],
        env,
      );
      expect(created.code, created.stderr).toBe(0);
      const { tenant_id, key_id, api_key } = JSON.parse(created.stdout) as Record<string, string>;
      expect((await chat(gw, api_key!)).status).toBe(200);

      const rotated = await simosphere(
        dir,
        ['key', 'rotate', '--tenant', tenant_id!, '--key', key_id!, '--json'],
        env,
      );
      expect(rotated.code, rotated.stderr).toBe(0);
      const next = JSON.parse(rotated.stdout) as { id: string; api_key: string; rotated_key_id: string };
      expect(next.rotated_key_id).toBe(key_id);
      expect((await chat(gw, api_key!)).status).toBe(401);
      expect((await chat(gw, next.api_key)).status).toBe(200);

      if (mode === 'redis') return;
      const listed = await simosphere(dir, ['key', 'list', '--tenant', tenant_id!], env);
      expect(listed.stdout).toMatch(new RegExp(`${key_id}\\s.*revoked`));
      expect(listed.stdout).toMatch(new RegExp(`${next.id}\\s.*active`));
      expect(listed.stdout).not.toContain(next.api_key);
      const revoked = await simosphere(dir, ['key', 'revoke', '--tenant', tenant_id!, '--key', next.id], env);
      expect(revoked.code, revoked.stderr).toBe(0);
      expect((await chat(gw, next.api_key)).status).toBe(401);
    });
  };
  if (mode === 'redis') await describeWith('redis', 'CLI key life cycle with Redis', body);
  else body();
}
