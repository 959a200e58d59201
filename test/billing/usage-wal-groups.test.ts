import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageWal } from '../../src/billing/usage-wal.js';
import type { NewUsageRecordRow } from '../../src/storage/tables.js';

const row = (n: number): NewUsageRecordRow => ({
  request_id: `req_${String(n).padStart(22, '0')}`,
  tenant_id: 'ten_x',
  key_id: 'key_x',
  model: 'qwen/qwen3-8b',
  provider: 'fake',
  upstream_model: null,
  endpoint: 'chat.completions',
  prompt_tokens: 3,
  completion_tokens: 7,
  cost_micros: 117,
  cost_picos: 500_000,
  status: 200,
  streamed: 0,
  estimated: 0,
  latency_ms: 5,
  created_at: Date.now(),
});

describe('usage write-ahead log', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const segments = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.jsonl'));

  it('writes the records of one event-loop turn together, before their appends resolve', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'simo-wal-'));
    dirs.push(dir);
    const wal = new UsageWal(dir);
    const appends = [wal.append(row(1)), wal.append(row(2)), wal.append(row(3))];
    // Nothing is on disk within the turn; all three are once it ends.
    expect(segments(dir)).toEqual([]);
    await Promise.all(appends);
    const [segment] = segments(dir);
    expect(UsageWal.read(join(dir, segment!)).map((r) => r.request_id)).toEqual(
      [1, 2, 3].map((n) => row(n).request_id),
    );
    wal.close(true);
  });

  it('puts what this turn appended into the segment that a rotation ends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'simo-wal-'));
    dirs.push(dir);
    const wal = new UsageWal(dir);
    const first = wal.append(row(1));
    const path = wal.rotate();
    await first;
    expect(path).not.toBeNull();
    expect(UsageWal.read(path!).map((r) => r.request_id)).toEqual([row(1).request_id]);
    await wal.append(row(2));
    expect(segments(dir)).toHaveLength(2);
    wal.close(true);
  });
});
