/**
 * `simosphere start --workers 2` on the embedded database alone (no Redis), from the outside: one port,
 * two serving processes, and what they must share stays exact — a burst over the rate limit admits
 * exactly the limit, parallel spending cannot overdraw, `/metrics` adds up both workers, a worker killed
 * with SIGKILL is replaced and loses no usage, and SIGTERM drains both and leaves nothing to recover.
 */

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/storage/database.js';
import { ADMIN_TOKEN, billingConfig, call, chatBody } from '../billing/billing-harness.js';
import { reconcile } from '../billing/reconcile.js';
import { startChatLoad } from '../support/chat-load.js';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { signUpAt } from '../support/gateway.js';
import { type KillableServer, startKillableServer } from '../support/killable-server.js';

/** The serving workers below the primary: its child processes. */
function workerPids(primary: number): number[] {
  try {
    return readFileSync(`/proc/${primary}/task/${primary}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Whether the primary reported the worker `pid`, started in place of a dead one, as serving. */
const listeningAgain = (output: string, pid: number) =>
  output
    .split('\n')
    .some(
      (line) =>
        line.includes('the replacement serving worker is listening') && line.includes(`"pid":${pid},`),
    );

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** GET on a connection of its own (no keep-alive pool): 'dropped' when the connection fails. */
const getOnNewConnection = (url: string, apiKey: string): Promise<number | 'dropped'> =>
  new Promise((resolve) => {
    const req = request(url, { agent: false, headers: { authorization: `Bearer ${apiKey}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
      res.on('error', () => resolve('dropped'));
    });
    req.on('error', () => resolve('dropped'));
    req.end();
  });

const operator = (url: string, path: string, body: unknown, method = 'POST') =>
  fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('two serving workers on one port, embedded database only', () => {
  let upstream: FakeUpstream;
  let dataDir: string;
  let server: KillableServer;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    await upstream.control('words:7');
    dataDir = mkdtempSync(join(tmpdir(), 'simo-workers-'));
    // 3 prompt + 7 completion tokens cost 117.5 µ$; sign-up grants 1,000 µ$.
    writeFileSync(
      join(dataDir, 'simosphere.yaml'),
      JSON.stringify(
        billingConfig(upstream.v1, {
          signup: { plan: 'starter', trialCredits: 0.001 },
          limits: { signupsPerMinute: 10_000 },
        }),
      ),
    );
    server = await startKillableServer({
      env: { SIMO_DATA_DIR: dataDir, SIMO_CONFIG: join(dataDir, 'simosphere.yaml'), SIMO_WORKERS: '2' },
    });
    await until(() => workerPids(server.child.pid!).length === 2, 10_000);
  }, 60_000);

  afterAll(async () => {
    if (server.child.exitCode === null) await server.kill();
    await upstream?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('admits exactly the rate limit of a burst spread over both workers', async () => {
    const { tenantId, apiKey } = await signUpAt(server.url);
    expect((await operator(server.url, `/operator/tenants/${tenantId}`, { rpm: 20 }, 'PATCH')).status).toBe(
      200,
    );
    expect((await operator(server.url, `/operator/tenants/${tenantId}/credits`, { amount: 5 })).status).toBe(
      200,
    );
    // Separate connections, so the primary hands them to both workers; a small cap keeps credit out of the way.
    const statuses = await Promise.all(
      Array.from({ length: 32 }, async () => {
        const res = await call(`${server.url}/v1/chat/completions`, apiKey, {
          body: chatBody('qwen/qwen3-8b', 'one two three', { max_tokens: 7 }),
          headers: { connection: 'close' },
        });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(12);
  });

  it('never lets parallel requests on both workers spend more than the balance', async () => {
    const { tenantId, apiKey } = await signUpAt(server.url);
    // Each request may cost up to its worst case (prompt bound + 7 tokens); 1,000 µ$ pay for a few only.
    const statuses = await Promise.all(
      Array.from({ length: 24 }, async () => {
        const res = await call(`${server.url}/v1/chat/completions`, apiKey, {
          body: chatBody('qwen/qwen3-8b', 'one two three', { max_tokens: 7 }),
          headers: { connection: 'close' },
        });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    const admitted = statuses.filter((s) => s === 200).length;
    expect(admitted).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200).every((s) => s === 402)).toBe(true);
    const database = openDatabase({ dataDir });
    try {
      // Every admitted request settled before it was answered; its record commits within a batch delay.
      const stored = () =>
        database.db
          .selectFrom('usage_records')
          .select('request_id')
          .where('tenant_id', '=', tenantId)
          .execute();
      await until(async () => (await stored()).length === admitted, 10_000);
      const books = await reconcile(database.db, tenantId);
      expect(books.balance).toBeGreaterThanOrEqual(0n);
    } finally {
      await database.close();
    }
  });

  it('serves /metrics with the counters of both workers added up', async () => {
    const { apiKey } = await signUpAt(server.url);
    const count = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return [
        ...text.matchAll(/^simosphere_http_requests_total\{[^}]*route="\/v1\/models"[^}]*\} (\d+)/gm),
      ].reduce((sum, m) => sum + Number(m[1]), 0);
    };
    const before = await count();
    for (let i = 0; i < 10; i++) {
      const res = await call(`${server.url}/v1/models`, apiKey, { headers: { connection: 'close' } });
      await res.arrayBuffer();
    }
    expect((await count()) - before).toBe(10);
  });

  it('drops a connection the primary was handing to a worker killed before taking it, instead of holding it', async () => {
    const { apiKey } = await signUpAt(server.url);
    const [victim, survivor] = workerPids(server.child.pid!);
    // Stopped, the victim takes the next connection handed to it but never acknowledges it.
    process.kill(victim!, 'SIGSTOP');
    const answers: Array<number | 'dropped'> = [];
    const requests = Array.from({ length: 4 }, () =>
      getOnNewConnection(`${server.url}/v1/models`, apiKey).then((a) => answers.push(a)),
    );
    // Both workers were idle, so one connection went to each; the survivor answers the other three.
    await until(() => answers.length === 3, 10_000);
    expect(answers).toEqual([200, 200, 200]);
    process.kill(victim!, 'SIGKILL');
    await until(() => answers.length === 4, 5_000);
    expect(answers[3]).toBe('dropped');
    await Promise.all(requests);
    // The next test kills a serving worker: the replacement must be serving by then.
    await until(() => {
      const pids = workerPids(server.child.pid!);
      return pids.length === 2 && pids.includes(survivor!) && !pids.includes(victim!);
    }, 15_000);
    const replacement = workerPids(server.child.pid!).find((pid) => pid !== survivor);
    await until(() => listeningAgain(server.output(), replacement!), 15_000);
  });

  it('replaces a worker killed with SIGKILL, and bills everything it answered', async () => {
    const { apiKey, tenantId } = await signUpAt(server.url);
    expect((await operator(server.url, `/operator/tenants/${tenantId}/credits`, { amount: 5 })).status).toBe(
      200,
    );
    const load = startChatLoad({
      targets: () => [server.url],
      apiKey,
      body: chatBody('qwen/qwen3-8b', 'one two three'),
      workers: 8,
    });
    await load.reach(100);
    const [victim] = workerPids(server.child.pid!);
    process.kill(victim!, 'SIGKILL');
    await until(() => {
      const pids = workerPids(server.child.pid!);
      return pids.length === 2 && !pids.includes(victim!);
    }, 15_000);
    await load.reach(load.ok.size + 100);
    await load.stop();

    // Drained and stopped: every answered request is billed once, and nothing is left to recover.
    await server.stop();
    expect(server.child.exitCode).toBe(0);
    const database = openDatabase({ dataDir });
    try {
      const books = await reconcile(database.db, tenantId);
      const metered = new Set(books.records.map((r) => r.request_id));
      expect([...load.ok.keys()].filter((id) => !metered.has(id))).toEqual([]);
    } finally {
      await database.close();
    }
    expect(readdirSync(dataDir).filter((n) => n.startsWith('usage-wal-'))).toEqual([]);
  }, 90_000);
});
