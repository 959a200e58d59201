/**
 * Fills a SIMOSphere SQLite database with usage history, as a gateway that has served for a while
 * holds it: `count` usage records of a thousand other tenants over the last 90 days, each with its
 * ledger debit, ids ordered by time like the ones the gateway issues (and sorting before them).
 * Two `insert … select` statements, so a million rows take seconds.
 */
import { join } from 'node:path';
import SQLite from 'better-sqlite3';

const DAY_MS = 86_400_000;
const SPAN_MS = 90 * DAY_MS;
const TENANTS = 1_000;

export function seedUsage(dataDir: string, count: number, now = Date.now()): void {
  const db = new SQLite(join(dataDir, 'simosphere.db'));
  try {
    db.pragma('busy_timeout = 10000');
    // A bench fixture: speed over durability while it is written.
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
    const from = now - SPAN_MS;
    db.transaction(() => {
      // req_0A + 6 hex digits of the row number + 14 random hex digits: 22 characters after `req_`.
      db.prepare(
        `with recursive n(i) as (select 0 union all select i + 1 from n where i < ?)
         insert into usage_records (request_id, tenant_id, key_id, model, provider, upstream_model, endpoint,
           prompt_tokens, completion_tokens, cost_micros, cost_picos, status, streamed, estimated, latency_ms, created_at)
         select printf('req_0A%06x%s', i, substr(lower(hex(randomblob(7))), 1, 14)),
                'ten_seed' || (i % ${TENANTS}), 'key_seed' || (i % ${TENANTS}), 'qwen/qwen3-8b', 'default', 'qwen3',
                'chat.completions', 100 + i % 900, 50 + i % 400, 10 + i % 500, 0, 200, 0, 0, 120,
                ? + (i * ?) / ?
         from n`,
      ).run(count - 1, from, SPAN_MS, count);
      db.prepare(
        `insert into credit_ledger (tenant_id, kind, amount_micros, amount_picos, idempotency_key, request_id, actor, note, created_at)
         select tenant_id, 'usage', -cost_micros, 0, 'usage:' || request_id, request_id, 'key:' || key_id, null, created_at
         from usage_records where tenant_id like 'ten_seed%' order by id`,
      ).run();
    })();
    // Leave the database as a long-running server would: history in the main file, not the WAL.
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}
