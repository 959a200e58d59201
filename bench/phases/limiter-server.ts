/**
 * A gateway process for the limiter phase, started from source:
 *
 *   node --import tsx bench/phases/limiter-server.ts --mode off|memory|redis --upstream URL --data-dir DIR
 *        [--redis-url URL]
 *
 * The three modes differ only by the limiter: none (`limits.rateLimiting: false`), in process, or
 * Redis (a fresh key prefix). The plan is large enough that nothing is refused. Prints one JSON line
 * `{"url","apiKey"}` once ready; stops on SIGTERM.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer } from '../../src/server.js';
import { randomBase62 } from '../../src/shared/ids.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'memory' },
    upstream: { type: 'string' },
    'data-dir': { type: 'string' },
    'redis-url': { type: 'string' },
  },
});
if (!values.upstream || !values['data-dir']) throw new Error('--upstream and --data-dir are required');
const mode = values.mode;
if (mode !== 'off' && mode !== 'memory' && mode !== 'redis') throw new Error(`unknown --mode ${mode}`);
if (mode === 'redis' && !values['redis-url']) throw new Error('--mode redis needs --redis-url');

const config = loadConfig({
  env: {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    SIMO_UPSTREAM_URL: values.upstream,
    SIMO_DATA_DIR: values['data-dir'],
    ...(mode === 'redis' ? { SIMO_REDIS_URL: values['redis-url'] } : {}),
  },
  overrides: {
    plans: { bench: { rpm: 100_000_000 } },
    signup: { plan: 'bench', trialCredits: 1_000_000 },
    limits: { rateLimiting: mode !== 'off' },
    redis: { keyPrefix: `bench:${randomBase62(8)}:` },
  },
});
const server = await startServer(config, createLogger('warn'));
const res = await fetch(`${server.url}/register`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/json' },
  body: JSON.stringify({ email: `limiter-${Date.now()}@example.com`, password: 'bench password 123' }),
});
const { api_key: apiKey } = (await res.json()) as { api_key: string };
process.stdout.write(`${JSON.stringify({ url: server.url, apiKey })}\n`);
process.once('SIGTERM', () => {
  void server.stop().then(() => process.exit(0));
});
