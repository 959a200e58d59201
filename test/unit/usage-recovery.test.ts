/**
 * The recovery count of a sweep over Redis is what the sweep committed, even when the sweep fails
 * after committing part of a dead writer's entries (a timeout on the clean-up that follows, say).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import type { UsageJournal } from '../../src/billing/usage-journal.js';
import { type RecoverySource, UsageRecovery } from '../../src/billing/usage-recovery.js';
import type { NewUsageRecordRow } from '../../src/storage/tables.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A journal whose dead writer has two pages; the clean-up after the first fails. */
function journalFailingAfterOnePage(): UsageJournal {
  const row = (id: string) => ({ request_id: id }) as NewUsageRecordRow;
  return {
    append: () => ({ id: '1', durable: Promise.resolve() }),
    acknowledge: () => {},
    state: () => 'redis',
    close: async () => {},
    async recoverDead(replay) {
      await replay([row('req_a'), row('req_b')]);
      throw new Error('Command timed out');
    },
  };
}

it('counts the records a failing sweep committed before it failed', async () => {
  const walDir = mkdtempSync(join(tmpdir(), 'simo-recovery-'));
  dirs.push(walDir);
  const committed: string[] = [];
  const reported: Array<[RecoverySource, number]> = [];
  const recovery = new UsageRecovery({
    walDir,
    self: 'self',
    journal: journalFailingAfterOnePage(),
    replay: async (rows) => {
      committed.push(...rows.map((r) => r.request_id));
    },
    logger: pino({ level: 'silent' }),
    onRecovered: (source, records) => reported.push([source, records]),
  });
  expect(await recovery.sweep()).toBe(2);
  expect(committed).toEqual(['req_a', 'req_b']);
  expect(reported).toEqual([['redis', 2]]);
});
