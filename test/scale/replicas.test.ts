/**
 * The reference multi-replica topology as plain processes (scripts/topology.ts): replicas on one
 * PostgreSQL database and one Redis behave as one platform, and a replica killed with SIGKILL under
 * load loses no usage: every 200 a client saw is metered exactly once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTopology, type Topology } from '../../scripts/topology.js';
import { openDatabase } from '../../src/storage/database.js';
import { reconcile } from '../billing/reconcile.js';
import { describeWith } from '../support/services.js';

const LOAD_WORKERS = 8;

async function signUp(url: string): Promise<{ apiKey: string; tenantId: string }> {
  const res = await fetch(`${url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `replica-${Date.now()}@example.com`, password: 'a long enough password' }),
  });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { api_key: string; tenant_id: string };
  return { apiKey: body.api_key, tenantId: body.tenant_id };
}

function chat(url: string, apiKey: string): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'qwen/qwen3-8b', messages: [{ role: 'user', content: 'Hello there' }] }),
  });
}

await describeWith('pg', 'several replicas on PostgreSQL + Redis', async () => {
  await describeWith('redis', 'topology', () => {
    let topology: Topology;
    beforeAll(async () => {
      // Professional plan: the load below must not be rate limited.
      topology = await startTopology({ replicas: 2, env: { SIMO_ADMIN_TOKEN: 'replica-test-admin-token' } });
    }, 90_000);
    afterAll(async () => {
      await topology?.stop();
    });

    it('shares accounts and keys between replicas', async () => {
      const [a, b] = topology.replicas;
      const { apiKey } = await signUp(a!.url);
      const res = await fetch(`${b!.url}/v1/models`, { headers: { authorization: `Bearer ${apiKey}` } });
      expect(res.status).toBe(200);
    });

    it('keeps serving when a replica is killed under load, and meters every 200 exactly once', async () => {
      const [a, b] = topology.replicas;
      const { apiKey, tenantId } = await signUp(a!.url);
      await fetch(`${a!.url}/operator/tenants/${tenantId}`, {
        method: 'PATCH',
        headers: { authorization: 'Bearer replica-test-admin-token', 'content-type': 'application/json' },
        body: JSON.stringify({ plan: 'enterprise' }),
      });

      const ok = new Set<string>();
      let okAfterKill = 0;
      let killed = false;
      let seq = 0;
      const deadline = Date.now() + 2_500;
      const worker = async (w: number) => {
        while (Date.now() < deadline) {
          const target = (seq + w) % 2 === 0 && !killed ? a! : b!;
          seq++;
          try {
            const res = await chat(target.url, apiKey);
            await res.arrayBuffer();
            if (res.status === 200) {
              ok.add(res.headers.get('x-request-id')!);
              if (killed) okAfterKill++;
            }
          } catch {
            // the killed replica refuses or drops connections: the client would retry elsewhere
          }
        }
      };
      const load = Promise.all(Array.from({ length: LOAD_WORKERS }, (_, w) => worker(w)));
      await new Promise((r) => setTimeout(r, 1_000));
      await a!.kill();
      killed = true;
      await load;

      expect(ok.size).toBeGreaterThan(50);
      expect(okAfterKill).toBeGreaterThan(0);

      // A new replica replays the dead one's write-ahead records at start.
      const replacement = await topology.addReplica();
      expect((await fetch(`${replacement.url}/readyz`)).status).toBe(200);
      await b!.stop();
      await replacement.stop();

      const database = openDatabase({
        databaseUrl: topology.database.databaseUrl,
        dataDir: topology.database.dataDir,
      });
      try {
        const books = await reconcile(database.db, tenantId);
        const metered = new Set(books.records.map((r) => r.request_id));
        const missing = [...ok].filter((id) => !metered.has(id));
        expect(missing).toEqual([]);
        expect(books.records.length).toBe(metered.size);
      } finally {
        await database.close();
      }
    }, 90_000);
  });
});
