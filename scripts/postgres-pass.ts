/**
 * `npm run test:postgres`: the whole suite with PostgreSQL as every test's default database
 * (SIMO_TEST_DIALECT=postgres), so no SQLite-only assumption hides in what the platform stores. CI runs
 * it on the second Node.js line, so every file runs once on each line and every stored thing is tested
 * on both databases. Skipped, saying so, when PostgreSQL is unreachable, unless SIMO_TEST_REQUIRE lists `pg`.
 */
import { spawnSync } from 'node:child_process';
import { serviceAvailable, TEST_DATABASE_URL } from '../test/support/services.js';

const available = await serviceAvailable('pg').catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
if (!available) {
  console.warn(
    `[skipped] PostgreSQL pass: ${TEST_DATABASE_URL} is not reachable (SIMO_TEST_REQUIRE=pg makes this fail)`,
  );
  process.exit(0);
}

console.log('\n== the suite on PostgreSQL (SIMO_TEST_DIALECT=postgres) ==');
const run = spawnSync('npx', ['vitest', 'run', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, SIMO_TEST_DIALECT: 'postgres' },
});
process.exit(run.status ?? 1);
