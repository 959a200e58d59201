import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startTestGateway } from '../support/gateway.js';

/** What the platform keeps on disk is readable by its own user only, like the server secret. */
const root = mkdtempSync(join(tmpdir(), 'simo-modes-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const modeOf = (path: string) => statSync(path).mode & 0o777;

it('creates the data dir 0700 and the SQLite database with its -wal and -shm 0600', async () => {
  const dataDir = join(root, 'fresh', 'data');
  const gw = await startTestGateway({ dialect: 'sqlite', env: { SIMO_DATA_DIR: dataDir } });
  try {
    await gw.signUp();
    const db = join(dataDir, 'simosphere.db');
    expect(modeOf(dataDir)).toBe(0o700);
    for (const file of [db, `${db}-wal`, `${db}-shm`]) {
      expect(existsSync(file), file).toBe(true);
      expect(modeOf(file), file).toBe(0o600);
    }
    expect(modeOf(join(dataDir, 'secret.key'))).toBe(0o600);
    const walLocks = readdirSync(dataDir).filter((n) => n.startsWith('usage-wal-'));
    expect(walLocks).toHaveLength(1);
    expect(modeOf(join(dataDir, walLocks[0]!))).toBe(0o600);
  } finally {
    await gw.stop();
  }
});

it('tightens a database an earlier version left world-readable', async () => {
  const dataDir = join(root, 'old');
  const first = await startTestGateway({ dialect: 'sqlite', env: { SIMO_DATA_DIR: dataDir } });
  await first.stop();
  const db = join(dataDir, 'simosphere.db');
  chmodSync(db, 0o644);
  writeFileSync(`${db}-shm`, '');
  chmodSync(`${db}-shm`, 0o644);
  const again = await startTestGateway({ dialect: 'sqlite', env: { SIMO_DATA_DIR: dataDir } });
  try {
    expect(modeOf(db)).toBe(0o600);
    expect(modeOf(`${db}-shm`)).toBe(0o600);
  } finally {
    await again.stop();
  }
});
