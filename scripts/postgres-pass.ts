/**
 * The second half of `npm test`: the whole suite again with PostgreSQL as every test's default
 * database (SIMO_TEST_DIALECT=postgres), so no SQLite-only assumption hides anywhere. Skipped, saying
 * so, when PostgreSQL is unreachable, unless SIMO_TEST_REQUIRE lists `pg`.
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
console.log('\n== the whole suite again, on PostgreSQL (SIMO_TEST_DIALECT=postgres) ==');
const run = spawnSync('npx', ['vitest', 'run'], {
  stdio: 'inherit',
  env: { ...process.env, SIMO_TEST_DIALECT: 'postgres' },
});
process.exit(run.status ?? 1);
