/**
 * Two replicas on PostgreSQL + Redis, each with a data dir of its own (as on separate machines): one is
 * killed with SIGKILL under load and never comes back. What it had answered but not committed is in
 * its Redis stream; the survivor notices the expired lease and replays it within seconds, so every 200
 * a client saw is metered exactly once. A replica that is only frozen past its lease has its records
 * replayed too, and is still billed once when it wakes. A clean shutdown leaves nothing to recover.
 */
import { readdirSync } from 'node:fs';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTopology, type Topology } from '../../scripts/topology.js';
import { openDatabase } from '../../src/storage/database.js';
import { reconcile } from '../billing/reconcile.js';
import { startChatLoad } from '../support/chat-load.js';
import { signUpAt } from '../support/gateway.js';
import { describeWith, TEST_REDIS_URL } from '../support/services.js';

const ADMIN_TOKEN = 'replica-loss-admin-token';
/** Generous: the lease is 3 s and every replica sweeps each second; measured figures are in the README. */
const RECOVERY_BOUND_MS = 15_000;

await describeWith('pg', 'a replica lost for good', async () => {
  await describeWith('redis', 'separate data dirs', () => {
    let topology: Topology;
    beforeAll(async () => {
      topology = await startTopology({
        replicas: 2,
        separateDataDirs: true,
        env: { SIMO_ADMIN_TOKEN: ADMIN_TOKEN },
      });
    }, 90_000);
    afterAll(async () => {
      await topology?.stop();
    });

    /** Request ids among `ids` with no usage record yet; with `check`, also that the books add up. */
    async function unmetered(tenantId: string, ids: readonly string[], check = false): Promise<string[]> {
      const database = openDatabase({
        databaseUrl: topology.database.databaseUrl,
        dataDir: topology.database.dataDir,
      });
      try {
        const records = check
          ? (await reconcile(database.db, tenantId)).records
          : await database.db
              .selectFrom('usage_records')
              .select('request_id')
              .where('tenant_id', '=', tenantId)
              .execute();
        const metered = new Set(records.map((r) => r.request_id));
        return ids.filter((id) => !metered.has(id));
      } finally {
        await database.close();
      }
    }

    /** A tenant on the enterprise plan (the load must not be rate limited). */
    async function tenant(url: string): Promise<{ apiKey: string; tenantId: string }> {
      const { apiKey, tenantId } = await signUpAt(url);
      await fetch(`${url}/operator/tenants/${tenantId}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ plan: 'enterprise' }),
      });
      return { apiKey, tenantId };
    }

    /**
     * Runs `during` while no batch can commit anywhere (the test holds the usage table), after letting
     * the load run that way for a moment: what the replicas answer then is only written ahead.
     */
    async function withCommitsBlocked<T>(during: () => Promise<T>): Promise<T> {
      const blocker = new pg.Client({ connectionString: topology.database.databaseUrl });
      await blocker.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query('LOCK TABLE usage_records IN EXCLUSIVE MODE');
        await new Promise((r) => setTimeout(r, 300));
        const result = await during();
        await blocker.query('COMMIT');
        return result;
      } finally {
        await blocker.end();
      }
    }

    const recoveredFromRedis = async (url: string) =>
      Number(
        /^simosphere_usage_records_recovered_total\{source="redis"\} (\d+)/m.exec(
          await (await fetch(`${url}/metrics`)).text(),
        )?.[1] ?? 0,
      );

    const body = { model: 'qwen/qwen3-8b', messages: [{ role: 'user', content: 'Hello there' }] };

    /** On failure, what each replica logged (warnings and errors) says where it stood. */
    async function withReplicaLogs(run: () => Promise<void>): Promise<void> {
      try {
        await run();
      } catch (err) {
        for (const r of topology.replicas) console.error(`replica ${r.index} logged:\n${r.output()}`);
        throw err;
      }
    }

    it(
      'bills a replica that was only frozen past its lease once, whoever commits first',
      () =>
        withReplicaLogs(async () => {
          const [slow, other] = topology.replicas as [Topology['replicas'][0], Topology['replicas'][0]];
          const { apiKey, tenantId } = await tenant(other.url);
          let targets = [slow.url, other.url];
          const load = startChatLoad({ targets: () => targets, apiKey, body, workers: 8 });
          await load.reach(100);
          // Frozen (as by a long GC pause or a stalled disk) well past the 3 s lease: the other replica
          // takes it for dead and replays its journal while it still holds the same records in memory.
          await withCommitsBlocked(async () => {
            targets = [other.url];
            slow.process.kill('SIGSTOP');
          });
          // Frozen until the other replica has claimed its journal or replayed it (the lease expires 2–3 s
          // after the freeze; a replay that meets the frozen replica's open transaction waits for it).
          const redis = new Redis(TEST_REDIS_URL);
          const recoveredBefore = await recoveredFromRedis(other.url);
          const takenForDead = async () =>
            (await redis.keys(`${topology.redisPrefix}usage:claim:*`)).length > 0 ||
            (await recoveredFromRedis(other.url)) > recoveredBefore;
          try {
            const frozenAt = Date.now();
            while (!(await takenForDead())) {
              expect(Date.now() - frozenAt).toBeLessThan(15_000);
              await new Promise((r) => setTimeout(r, 50));
            }
          } finally {
            redis.disconnect();
            slow.process.kill('SIGCONT');
          }
          targets = [slow.url, other.url];
          // Both serve again once it wakes; bounded, so a replica that never answers again fails here.
          await load.reach(load.ok.size + 50);
          await load.stop();
          expect(load.okFrom(slow.url).length).toBeGreaterThan(0);

          let missing = await unmetered(tenantId, [...load.ok.keys()]);
          for (let i = 0; i < 100 && missing.length > 0; i++) {
            await new Promise((r) => setTimeout(r, 100));
            missing = await unmetered(tenantId, [...load.ok.keys()]);
          }
          expect(missing).toEqual([]);
          // Both replicas' pending usage is committed now: the books add up, each request billed once.
          await fetch(`${slow.url}/admin/balance`, { headers: { authorization: `Bearer ${apiKey}` } });
          await fetch(`${other.url}/admin/balance`, { headers: { authorization: `Bearer ${apiKey}` } });
          await unmetered(tenantId, [], true);
          // The other replica did take it for dead (its replay ends once the frozen one's open transaction does).
          let recovered = await recoveredFromRedis(other.url);
          for (let i = 0; i < 100 && recovered === recoveredBefore; i++) {
            await new Promise((r) => setTimeout(r, 100));
            recovered = await recoveredFromRedis(other.url);
          }
          expect(recovered).toBeGreaterThan(recoveredBefore);
        }),
      60_000,
    );

    it(
      'has its unflushed usage billed by the survivor within seconds, exactly once',
      () =>
        withReplicaLogs(async () => {
          const [dying, survivor] = topology.replicas as [Topology['replicas'][0], Topology['replicas'][0]];
          const { apiKey, tenantId } = await tenant(survivor.url);
          let targets = [dying.url, survivor.url];
          const load = startChatLoad({ targets: () => targets, apiKey, body, workers: 8 });
          await load.reach(100);

          // While the test holds the usage table, no batch commits anywhere: what the dying replica answers
          // now exists only in its write-ahead log (on a disk no one else reads) and its Redis stream.
          const recoveredBefore = await recoveredFromRedis(survivor.url);
          const { killedAt, answeredByDead } = await withCommitsBlocked(async () => {
            targets = [survivor.url];
            await dying.kill();
            const at = Date.now();
            const answered = load.okFrom(dying.url);
            expect((await unmetered(tenantId, answered)).length).toBeGreaterThan(0);
            return { killedAt: at, answeredByDead: answered };
          });

          // The survivor keeps serving meanwhile; the dead replica's usage must show up on its own.
          let missing = await unmetered(tenantId, answeredByDead);
          while (missing.length > 0 && Date.now() - killedAt < RECOVERY_BOUND_MS) {
            await new Promise((r) => setTimeout(r, 100));
            missing = await unmetered(tenantId, answeredByDead);
          }
          const recoveredInMs = Date.now() - killedAt;
          await load.stop();
          expect(missing).toEqual([]);
          expect(await recoveredFromRedis(survivor.url)).toBeGreaterThan(recoveredBefore);
          console.info(
            `usage of a replica killed for good recovered by the survivor in ${recoveredInMs} ms ` +
              `(${answeredByDead.length} requests answered by it, ${load.ok.size} in all)`,
          );

          await survivor.stop();
          expect(await unmetered(tenantId, [...load.ok.keys()], true)).toEqual([]);
          // Nothing left to recover after the survivor's clean shutdown: no stream, lease or writer in
          // Redis, no write-ahead file on its disk.
          const redis = new Redis(TEST_REDIS_URL);
          try {
            expect(await redis.keys(`${topology.redisPrefix}usage:*`)).toEqual([]);
          } finally {
            redis.disconnect();
          }
          expect(readdirSync(survivor.dataDir).filter((n) => n.startsWith('usage-wal-'))).toEqual([]);
        }),
      90_000,
    );
  });
});
