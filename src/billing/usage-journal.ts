import type { NewUsageRecordRow } from '../storage/tables.js';

/**
 * Where settled usage is kept, beyond this machine's write-ahead log, until the database has it:
 * `redis` (shared with the other replicas, so they can replay a dead one's records), `degraded`
 * (Redis configured but unreachable: the local log only), `local` (no Redis configured).
 */
export type UsageJournalState = 'local' | 'redis' | 'degraded';

/**
 * A log of settled usage records that outlives the process that wrote them, so that live replicas can
 * bill what a dead one had not committed yet. Replay is idempotent (usage request ids and ledger keys
 * are unique), so a record replayed twice, or by a survivor while its writer was only slow, is billed once.
 */
export interface UsageJournal {
  /**
   * Adds a settled record. `durable` resolves once it is stored (or once the journal has given up on
   * it: it is still in the local write-ahead log); it never rejects. `id` names the entry for `acknowledge`.
   */
  append(row: NewUsageRecordRow): { id: string; durable: Promise<void> };
  /** Entries whose records the database committed: no one needs to replay them any more. */
  acknowledge(ids: readonly string[]): void;
  /**
   * Replays, through `replay`, the entries of writers that are gone (their lease expired), and
   * returns how many records it replayed. Safe to run on every replica at once.
   */
  recoverDead(replay: (rows: NewUsageRecordRow[]) => Promise<void>): Promise<number>;
  state(): UsageJournalState;
  /**
   * Stops writing. `clean`: everything appended was committed, so the entries are dropped; otherwise
   * they stay, and the lease is released at once so survivors replay them without waiting for it to expire.
   */
  close(clean: boolean): Promise<void>;
}
