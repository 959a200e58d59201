import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import type { RevocationEvent } from '../accounts/revocation-bus.js';
import type { LiveCost } from '../billing/credit-book.js';
import { LocalCreditBook } from '../billing/credit-book.js';
import type { CommittedTotals } from '../billing/usage-writer.js';
import type { PricedRequest } from '../billing/worst-case.js';
import type { ResolvedConfig } from '../config/load.js';
import { MemoryWindowStore } from '../ratelimit/memory-window-store.js';
import type { AdmitRequest } from '../ratelimit/types.js';
import { openDatabase } from '../storage/database.js';
import { Channel } from './channel.js';
import { CreditCoordinator } from './credit-coordinator.js';
import { closeConnectionsLostInHandoff } from './handoff-guard.js';

export interface PrimaryOptions {
  workers: number;
  /** Workers bind their own sockets with SO_REUSEPORT instead of sharing the primary's (round-robin). */
  reusePort: boolean;
}

/** A worker that dies within this long of starting is restarted after a pause, not at once. */
const CRASH_LOOP_MS = 5_000;
const RESTART_PAUSE_MS = 1_000;

/**
 * The primary of `simosphere start --workers N`: it serves no requests. It migrates the database,
 * starts N serving workers on one port, keeps what they must share exactly — the rate-limit logs (when
 * no Redis is configured) and the credit book — answers their revocation broadcasts and `/metrics`,
 * restarts a worker that dies (what it wrote ahead is replayed by the others' recovery sweep), and on
 * SIGTERM/SIGINT lets every worker drain and stop before it exits.
 */
export async function runPrimary(
  config: ResolvedConfig,
  logger: Logger,
  opts: PrimaryOptions,
): Promise<void> {
  const database = openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: 2,
  });
  // Once here, so the workers start on a migrated database instead of racing to migrate it.
  await database.migrate();
  const credits = new CreditCoordinator(new LocalCreditBook(database.db));
  const windows = new MemoryWindowStore();
  const channels = new Map<number, Channel>();
  const startedAt = new Map<number, number>();
  let stopping = false;
  let announced = false;

  cluster.setupPrimary({ serialization: 'advanced' });

  const attach = (worker: Worker) => {
    const id = worker.id;
    const ch = new Channel(worker);
    channels.set(id, ch);
    ch.handle('hello', (owner: string) => credits.hello(id, owner));
    ch.handle('limit.admit', (req: AdmitRequest) => windows.admitNow(req));
    ch.handle('limit.add', (b: { key: string; weight: number; limit: number }) =>
      windows.addNow(b.key, b.weight, b.limit),
    );
    ch.handle('credit.admit', (b: { tenantId: string; req: PricedRequest }) =>
      credits.admit(id, b.tenantId, b.req),
    );
    ch.handle('credit.settled', (b: { tenantId: string; reservation: bigint; cost: bigint }) =>
      credits.settled(id, b.tenantId, b.reservation, b.cost),
    );
    ch.handle('credit.committed', (b: { live: LiveCost[]; totals: Map<string, CommittedTotals> }) =>
      credits.committed(id, b.live, b.totals),
    );
    ch.handle('credit.invalidate', (tenantId: string) => credits.invalidate(tenantId));
    ch.handle('credit.recovered', (owner: string) => credits.recovered(owner));
    // Answered once every other worker has dropped what it cached, so a rotation is final everywhere.
    ch.handle('revoke', async (event: RevocationEvent) => {
      const others = [...channels].filter(([other]) => other !== id);
      await Promise.all(others.map(([, c]) => c.request('revoke.apply', event).catch(() => null)));
      return null;
    });
    ch.handle('metrics', async () => {
      const all = await Promise.all(
        [...channels.values()].map((c) => c.request<object[]>('metrics.collect', null).catch(() => null)),
      );
      return AggregatorRegistry.aggregate(all.filter((m): m is object[] => m !== null)).metrics();
    });
  };

  /** Workers started in place of dead ones that have not listened yet. */
  const replacements = new Set<number>();

  const fork = (replacing = false) => {
    if (stopping) return;
    const worker = cluster.fork({ SIMO_WORKER_REUSE_PORT: opts.reusePort ? '1' : '0' });
    startedAt.set(worker.id, Date.now());
    if (replacing) replacements.add(worker.id);
    closeConnectionsLostInHandoff(worker);
    attach(worker);
  };

  cluster.on('listening', (worker, address) => {
    if (replacements.delete(worker.id))
      logger.info({ pid: worker.process.pid }, 'the replacement serving worker is listening');
    if (announced || address.addressType === -1) return;
    announced = true;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    logger.info(
      {
        url: `http://${host}:${address.port}`,
        workers: opts.workers,
        reusePort: opts.reusePort,
        pid: process.pid,
      },
      `SIMOSphere listening on http://${host}:${address.port} with ${opts.workers} workers`,
    );
  });

  const exits: Array<() => void> = [];
  cluster.on('exit', (worker, code, signal) => {
    replacements.delete(worker.id);
    channels.get(worker.id)?.close(new Error('the worker exited'));
    channels.delete(worker.id);
    credits.exited(worker.id);
    const lived = Date.now() - (startedAt.get(worker.id) ?? 0);
    startedAt.delete(worker.id);
    if (channels.size === 0) for (const done of exits.splice(0)) done();
    if (stopping) return;
    if (!announced && code !== 0) {
      // Never got as far as serving: a configuration or start-up error that a restart would repeat.
      logger.fatal({ code, signal }, 'a serving worker failed to start; stopping');
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
      process.exitCode = 1;
      void whenAllExited().then(() => database.close());
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'serving worker died; starting another');
    if (lived < CRASH_LOOP_MS) setTimeout(() => fork(true), RESTART_PAUSE_MS);
    else fork(true);
  });

  const whenAllExited = () =>
    channels.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => exits.push(resolve));

  for (let i = 0; i < opts.workers; i++) fork();

  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: every worker drains its in-flight requests');
    // A signal, not a message: a worker still starting has no listener for messages yet, but its
    // SIGTERM handler is installed before it takes any lock or port.
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    // A worker that does not finish within the grace period (and a margin to commit usage) is killed;
    // what it wrote ahead is replayed at the next start.
    const force = setTimeout(() => {
      for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGKILL');
    }, config.limits.shutdownGraceMs + 15_000);
    force.unref();
    void whenAllExited()
      .then(() => database.close())
      .then(() => process.exit(process.exitCode ?? 0));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
