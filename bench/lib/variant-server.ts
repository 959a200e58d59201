/**
 * A gateway process started from source for phases that compare variants of the same gateway:
 *
 *   node --import tsx bench/lib/variant-server.ts --upstream URL --data-dir DIR
 *        [--meter credit|noop] [--limiter off|memory|redis] [--redis-url URL] [--seed-usage N]
 *
 * `--meter noop` swaps in a meter that admits everything and records nothing; `--limiter off` turns the
 * limiter off (`limits.rateLimiting: false`), `redis` uses Redis with a fresh key prefix. The plan and
 * credit are large enough that nothing is refused. `--seed-usage N` stores N usage records (and their
 * ledger debits) of other tenants before serving. Prints one JSON line `{"url","apiKey"}` once
 * ready; stops on SIGTERM.
 */
import { parseArgs } from 'node:util';
import { NoopMeter } from '../../src/billing/meter.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer } from '../../src/server.js';
import { randomBase62 } from '../../src/shared/ids.js';
import { seedUsage } from './seed-usage.js';

const { values } = parseArgs({
  options: {
    meter: { type: 'string', default: 'credit' },
    limiter: { type: 'string', default: 'memory' },
    upstream: { type: 'string' },
    'data-dir': { type: 'string' },
    'redis-url': { type: 'string' },
    'seed-usage': { type: 'string', default: '0' },
  },
});
const { meter, limiter } = values;
if (!values.upstream || !values['data-dir']) throw new Error('--upstream and --data-dir are required');
if (meter !== 'credit' && meter !== 'noop') throw new Error(`unknown --meter ${meter}`);
if (limiter !== 'off' && limiter !== 'memory' && limiter !== 'redis')
  throw new Error(`unknown --limiter ${limiter}`);
if (limiter === 'redis' && !values['redis-url']) throw new Error('--limiter redis needs --redis-url');

const config = loadConfig({
  env: {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    SIMO_UPSTREAM_URL: values.upstream,
    SIMO_DATA_DIR: values['data-dir'],
    ...(limiter === 'redis' ? { SIMO_REDIS_URL: values['redis-url'] } : {}),
  },
  overrides: {
    plans: { bench: { rpm: 100_000_000 } },
    signup: { plan: 'bench', trialCredits: 1_000_000 },
    limits: { rateLimiting: limiter !== 'off' },
    redis: { keyPrefix: `bench:${randomBase62(8)}:` },
  },
});
const server = await startServer(config, createLogger('warn'));
const seed = Number(values['seed-usage']);
if (seed > 0) seedUsage(values['data-dir'], seed);
if (meter === 'noop') server.container.meter = new NoopMeter();

const res = await fetch(`${server.url}/register`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/json' },
  body: JSON.stringify({ email: `bench-${Date.now()}@example.com`, password: 'bench password 123' }),
});
const { api_key: apiKey } = (await res.json()) as { api_key: string };
process.stdout.write(`${JSON.stringify({ url: server.url, apiKey })}\n`);
process.once('SIGTERM', () => {
  void server.stop().then(() => process.exit(0));
});
