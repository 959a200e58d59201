/**
 * Write-ahead segments of a server killed with SIGKILL are found by their writer's lock, never by its
 * pid, and replayed by whichever live server on the data dir sweeps first:
 * - at a restart, even when the dead server's pid now belongs to another live process (containers);
 * - without any restart, by another server still running on the same data dir, within seconds.
 * Every request a client saw answered 200 ends up with exactly one usage record and one debit.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/storage/database.js';
import { type ChatLoad, startChatLoad } from '../support/chat-load.js';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { signUpAt } from '../support/gateway.js';
import {
  type KillableServer,
  type PidNamespace,
  pidNamespacesAvailable,
  startKillableServer,
} from '../support/killable-server.js';
import { billingConfig, chatBody } from './billing-harness.js';
import { reconcile } from './reconcile.js';

const namespaces = pidNamespacesAvailable();
if (!namespaces)
  console.warn('[skipped] pid-namespace crash cases: `unshare -Urpf` is not permitted on this machine');

let upstream: FakeUpstream;
let dataDir: string;
const servers: KillableServer[] = [];

beforeAll(async () => {
  upstream = await startFakeUpstream();
  await upstream.control('words:7');
});
afterAll(async () => {
  await upstream?.stop();
});
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'simo-recovery-'));
  writeFileSync(join(dataDir, 'simosphere.yaml'), JSON.stringify(billingConfig(upstream.v1)));
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.kill()));
  rmSync(dataDir, { recursive: true, force: true });
});

const walFiles = (suffix: string) =>
  readdirSync(dataDir).filter((n) => n.startsWith('usage-wal-') && n.endsWith(suffix));

/** A server on the data dir, and the name its write-ahead files start with (its lock tells). */
async function start(namespace: PidNamespace): Promise<KillableServer & { walPrefix: string }> {
  const before = new Set(walFiles('.lock'));
  const server = await startKillableServer({
    env: { SIMO_DATA_DIR: dataDir, SIMO_CONFIG: join(dataDir, 'simosphere.yaml') },
    namespace,
  });
  servers.push(server);
  const lock = walFiles('.lock').find((n) => !before.has(n)) ?? '';
  return Object.assign(server, { walPrefix: lock.replace(/\.lock$/, '-') });
}

/**
 * Kills a server while no batch can commit (the test holds SQLite's write lock), so what it settled
 * last is only written ahead; returns how many records its segments hold at that moment. The server
 * is killed only once it answered a few requests under the lock (however slow a busy machine is), then
 * `beforeKill` runs (for example to send the load elsewhere).
 */
async function killWithUncommittedUsage(
  server: KillableServer & { walPrefix: string },
  load: ChatLoad,
  beforeKill: () => void = () => {},
): Promise<number> {
  const db = new SQLite(join(dataDir, 'simosphere.db'));
  try {
    db.exec('BEGIN IMMEDIATE');
    const answeredBefore = load.okFrom(server.url).length;
    const deadline = Date.now() + 10_000;
    do await new Promise((r) => setTimeout(r, 100));
    while (load.okFrom(server.url).length < answeredBefore + 3 && Date.now() < deadline);
    beforeKill();
    await server.kill();
    servers.splice(servers.indexOf(server), 1);
    // Nothing can be replayed (and so deleted) while the lock is held: this is what the kill left.
    return walFiles('.jsonl')
      .filter((n) => n.startsWith(server.walPrefix))
      .reduce((sum, n) => sum + readFileSync(join(dataDir, n), 'utf8').split('\n').filter(Boolean).length, 0);
  } finally {
    db.exec('ROLLBACK');
    db.close();
  }
}

/**
 * Request ids among `ids` that have no usage record yet. With `reconcile` (only once no server writes
 * any more: its reads are not one snapshot), also checks the tenant's books add up.
 */
async function unmetered(tenantId: string, ids: readonly string[], check = false): Promise<string[]> {
  const database = openDatabase({ dataDir });
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

describe.skipIf(!namespaces)('a dead server whose pid now belongs to another process', () => {
  it('is recognised as dead at restart, and everything it answered is metered once', async () => {
    // pid 1 in its own namespace; after the restart pid 1 is a shell and the server pid 2.
    const first = await start('pid1');
    const { apiKey, tenantId } = await signUpAt(first.url);
    const load = startChatLoad({
      targets: () => [first.url],
      apiKey,
      body: chatBody('qwen/qwen3-8b', 'one two three'),
      workers: 8,
    });
    await load.reach(200);
    expect(await killWithUncommittedUsage(first, load)).toBeGreaterThan(0);
    await load.stop();

    const second = await start('pid2');
    // Replayed at boot, before the server answered anything.
    expect(walFiles('.jsonl')).toEqual([]);
    await second.stop();
    servers.splice(servers.indexOf(second), 1);
    expect(await unmetered(tenantId, [...load.ok.keys()], true)).toEqual([]);
    // A clean shutdown leaves nothing behind to recover: no segment, no lock.
    expect(readdirSync(dataDir).filter((n) => n.startsWith('usage-wal-'))).toEqual([]);
  }, 90_000);
});

describe('a server killed for good while another one runs on the same data dir', () => {
  it('has its usage replayed by the survivor within seconds, without a restart', async () => {
    // As two containers sharing a volume: both are pid 1 where namespaces are available.
    const ns: PidNamespace = namespaces ? 'pid1' : 'host';
    const [dying, survivor] = [await start(ns), await start(ns)];
    const { apiKey, tenantId } = await signUpAt(survivor.url);
    let targets = [dying.url, survivor.url];
    const load = startChatLoad({
      targets: () => targets,
      apiKey,
      body: chatBody('qwen/qwen3-8b', 'one two three'),
      workers: 8,
    });
    await load.reach(300);
    const uncommitted = await killWithUncommittedUsage(dying, load, () => {
      targets = [survivor.url];
    });
    expect(uncommitted).toBeGreaterThan(0);
    const killedAt = Date.now();
    const answeredByDead = load.okFrom(dying.url);

    let missing = await unmetered(tenantId, answeredByDead);
    while (missing.length > 0 && Date.now() - killedAt < 15_000) {
      await new Promise((r) => setTimeout(r, 100));
      missing = await unmetered(tenantId, answeredByDead);
    }
    const recoveredInMs = Date.now() - killedAt;
    expect(missing).toEqual([]);
    console.info(`local write-ahead log of a dead server replayed by a live one in ${recoveredInMs} ms`);

    await load.stop();
    await survivor.stop();
    servers.splice(servers.indexOf(survivor), 1);
    expect(await unmetered(tenantId, [...load.ok.keys()], true)).toEqual([]);
    expect(readdirSync(dataDir).filter((n) => n.startsWith('usage-wal-'))).toEqual([]);
  }, 90_000);
});
