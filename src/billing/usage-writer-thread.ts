/**
 * The usage writer thread: owns a connection to the SQLite file and commits the batches of usage the
 * meter sends it (see ThreadUsageStore), one at a time, so their cost stays off the event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connectSqlite } from '../storage/sqlite.js';
import type { NewUsageRecordRow } from '../storage/tables.js';
import { type CommittedTotals, writeUsageBatch } from './usage-writer.js';

export interface WriterSetup {
  /** The SQLite file. */
  path: string;
  thresholds: readonly number[];
}

export type WriterRequest =
  | { kind: 'write'; id: number; rows: readonly NewUsageRecordRow[] }
  | { kind: 'close' };

export type WriterReply =
  | { id: number; totals: Array<[string, CommittedTotals]> }
  | { id: number; error: string };

const setup = workerData as WriterSetup | undefined;
if (parentPort && setup) {
  const port = parentPort;
  const db = connectSqlite(setup.path);
  // Batches are committed in the order they came, never two at once on the one connection.
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (req: WriterRequest) => {
    if (req.kind === 'close') {
      queue = queue.then(async () => {
        await db.destroy();
        port.close();
      });
      return;
    }
    queue = queue.then(async () => {
      let reply: WriterReply;
      try {
        const totals = await writeUsageBatch(db, req.rows, setup.thresholds);
        reply = { id: req.id, totals: [...totals] };
      } catch (err) {
        reply = { id: req.id, error: err instanceof Error ? err.message : String(err) };
      }
      port.postMessage(reply);
    });
  });
}
