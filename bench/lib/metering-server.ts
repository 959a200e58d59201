/**
 * A gateway process for the metering phase, started from source:
 *
 *   node --import tsx bench/lib/metering-server.ts --meter credit|noop --upstream URL --data-dir DIR
 *
 * `noop` swaps the meter for one that admits everything and records nothing, so the two runs differ
 * only by metering. Prints one JSON line `{"url","apiKey"}` once ready; stops on SIGTERM.
 */
import { parseArgs } from 'node:util';
import { NoopMeter } from '../../src/billing/meter.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer } from '../../src/server.js';

const { values } = parseArgs({
  options: {
    meter: { type: 'string', default: 'credit' },
    upstream: { type: 'string' },
    'data-dir': { type: 'string' },
  },
});
if (!values.upstream || !values['data-dir']) throw new Error('--upstream and --data-dir are required');

const config = loadConfig({
  env: {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    SIMO_UPSTREAM_URL: values.upstream,
    SIMO_DATA_DIR: values['data-dir'],
    SIMO_CONFIG: undefined,
  },
  overrides: {
    plans: { bench: { rpm: 100_000_000 } },
    signup: { plan: 'bench', trialCredits: 1_000_000 },
  },
});
const server = await startServer(config, createLogger('warn'));
if (values.meter === 'noop') server.container.meter = new NoopMeter();

const res = await fetch(`${server.url}/register`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ email: `metering-${Date.now()}@example.com`, password: 'bench password 123' }),
});
const { api_key: apiKey } = (await res.json()) as { api_key: string };
process.stdout.write(`${JSON.stringify({ url: server.url, apiKey })}\n`);
process.once('SIGTERM', () => {
  void server.stop().then(() => process.exit(0));
});
