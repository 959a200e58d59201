/**
 * The second half of `npm test`: the suite again with PostgreSQL as every test's default database
 * (SIMO_TEST_DIALECT=postgres), so no SQLite-only assumption hides in what the platform stores.
 * Files whose subject does not depend on the database (wire formats, client SDKs, documents, pages in
 * Chromium, timeouts, tracing, pure units) run once, in the first pass; a file's own `[pg]` cases run
 * in both. Skipped, saying so, when PostgreSQL is unreachable, unless SIMO_TEST_REQUIRE lists `pg`.
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
/** Test files the PostgreSQL pass leaves out: their subject is the same whatever the database. */
const STORAGE_INDEPENDENT = [
  'src/**',
  'test/unit/**',
  'test/observability/**',
  'test/portal/*.browser.test.ts',
  'test/discovery/{a2a,agent-limits,crawl,documents,mcp,openapi-lint}.test.ts',
  'test/gateway/{abandoned-streams,ai-sdk-langchain,balancing,client-address,embeddings-bounds,openai-sdk,routing,shared-breaker,smoke,wire}.test.ts',
  'test/surfaces/{agents-sdk,anthropic-messages,coding-agents,native,simulator}.test.ts',
  'test/security/slow-clients.test.ts',
  'test/store/{file-modes,sqlite-statement-cache}.test.ts',
];

console.log('\n== the suite again, on PostgreSQL (SIMO_TEST_DIALECT=postgres) ==');
const excluded = STORAGE_INDEPENDENT.flatMap((glob) => ['--exclude', glob]);
const run = spawnSync('npx', ['vitest', 'run', ...excluded], {
  stdio: 'inherit',
  env: { ...process.env, SIMO_TEST_DIALECT: 'postgres' },
});
process.exit(run.status ?? 1);
