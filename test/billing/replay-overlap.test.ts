/**
 * A live process can be taken for dead (a replica frozen past its lease) and have its written-ahead
 * records replayed by another one before it commits them itself. Its own commit then stores nothing
 * new: each request stays billed once, and the usage still leaves this process's pending total, so
 * its admissions neither refuse credit it has nor count the usage twice.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeUsageBatch } from '../../src/billing/usage-writer.js';
import { formatMicros, roundToMicros } from '../../src/shared/money.js';
import type { NewUsageRecordRow } from '../../src/storage/tables.js';
import { describeWith } from '../support/services.js';
import { type BillingRig, call, chatBody, startBillingRig } from './billing-harness.js';
import { reconcile } from './reconcile.js';

/** The records written ahead in `dir` for one request (none once its batch committed). */
function writtenAhead(dir: string, requestId: string): NewUsageRecordRow[] {
  return readdirSync(dir)
    .filter((n) => n.startsWith('usage-wal-') && n.endsWith('.jsonl'))
    .flatMap((n) => {
      try {
        // Every tenant's usage: readable by the service's own user only, like the database.
        expect(statSync(join(dir, n)).mode & 0o777).toBe(0o600);
        return readFileSync(join(dir, n), 'utf8').split('\n').filter(Boolean);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []; // committed and removed meanwhile
        throw err;
      }
    })
    .map((line) => JSON.parse(line) as NewUsageRecordRow)
    .filter((row) => row.request_id === requestId);
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  const suite = (name: string, body: () => void) =>
    dialect === 'sqlite' ? describe(name, body) : describeWith('pg', name, body);
  await suite(`records replayed by someone else before this process commits them (${dialect})`, () => {
    let rig: BillingRig;
    beforeAll(async () => {
      rig = await startBillingRig(dialect);
      await rig.upstream.control('words:7');
    });
    afterAll(async () => rig?.stop());

    it('are billed once, and leave the pending usage of the process that settled them', async () => {
      const t = await rig.gw.signUp();
      const meter = rig.gw.server.container.billing.meter;
      const { dataDir } = rig.gw.database;
      const thresholds = rig.gw.server.container.config.usageThresholds;
      let replayedFirst = 0;
      // The replay must land between the answer and this process's own batch (~100 ms later).
      for (let attempt = 0; attempt < 20 && replayedFirst === 0; attempt++) {
        const res = await call(`${rig.gw.v1}/chat/completions`, t.apiKey, {
          body: chatBody('qwen/qwen3-8b', 'one two three'),
        });
        expect(res.status).toBe(200);
        const rows = writtenAhead(dataDir, res.headers.get('x-request-id')!);
        if (rows.length === 0 || meter.pendingFor(t.tenantId) === 0n) continue;
        const fresh = await writeUsageBatch(rig.db, rows, thresholds);
        if (fresh.size > 0) replayedFirst++;
      }
      expect(replayedFirst).toBe(1);
      expect(meter.pendingFor(t.tenantId)).toBeGreaterThan(0n);

      await meter.flush();
      expect(meter.pendingFor(t.tenantId)).toBe(0n);
      const books = await reconcile(rig.db, t.tenantId);
      expect(books.records.length).toBeGreaterThan(0);
      const balance = (await (await call(`${rig.gw.url}/admin/balance`, t.apiKey)).json()) as {
        consumed: string;
      };
      expect(balance.consumed).toBe(formatMicros(roundToMicros(books.consumed)));
    });
  });
}
