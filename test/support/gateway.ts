/**
 * Starts a real SIMOSphere server (real HTTP on a random loopback port) for black-box tests.
 * Each call gets its own database, so tests never share state.
 */

import { loadConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { createLogger } from '../../src/observability/logger.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { createTestDatabase, type TestDatabase, type TestDialect } from './databases.js';
import { onFreePort } from './free-port.js';

export interface TestGateway {
  url: string;
  /** `${url}/v1`, the base URL for OpenAI clients. */
  v1: string;
  server: RunningServer;
  database: TestDatabase;
  /** Signs up a fresh tenant through `POST /register` and returns its key. */
  signUp(email?: string): Promise<SignedUp>;
  stop(): Promise<void>;
}

export interface SignedUp {
  tenantId: string;
  keyId: string;
  apiKey: string;
  email: string;
  password: string;
}

export interface TestGatewayOptions {
  /** Config as it would appear in simosphere.yaml. */
  config?: ConfigInput;
  /** Environment variables (SIMO_UPSTREAM_URL etc.) as the real process would see them. */
  env?: Record<string, string>;
  dialect?: TestDialect;
  /** Reuse an existing database (e.g. a second replica, or a restart). */
  database?: TestDatabase;
  logLevel?: string;
  /** Where the server's pino logs go (tests that inspect logs); default stdout. */
  logStream?: { write(chunk: string): void };
  /** The billing clock (when a month is over); see `movableClock`. */
  clock?: () => number;
}

/** A clock that runs with real time until a test moves it (e.g. past the end of the month). */
export function movableClock() {
  let offsetMs = 0;
  return {
    now: () => Date.now() + offsetMs,
    /** From now on the clock reads `at` plus the real time elapsed since this call. */
    moveTo(at: number) {
      offsetMs = at - Date.now();
    },
  };
}

let emailCounter = 0;

/**
 * The database a test gets when it does not ask for one: SQLite, or PostgreSQL for the whole-suite
 * PostgreSQL pass (`SIMO_TEST_DIALECT=postgres`, run by `npm test` when PostgreSQL is reachable).
 */
function defaultDialect(): TestDialect {
  return process.env.SIMO_TEST_DIALECT === 'postgres' ? 'postgres' : 'sqlite';
}

/** Signs up a fresh tenant through `POST /register` on the server at `url` and returns its key. */
export async function signUpAt(url: string, email?: string): Promise<SignedUp> {
  const address = email ?? `user${Date.now()}-${++emailCounter}@example.com`;
  const password = 'correct horse battery staple';
  const res = await fetch(`${url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ email: address, password }),
  });
  if (res.status !== 201) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { tenant_id: string; key_id: string; api_key: string };
  return { tenantId: body.tenant_id, keyId: body.key_id, apiKey: body.api_key, email: address, password };
}

/**
 * A gateway whose options name the port it listens on (for a public URL that is its own address),
 * started on another port when the chosen one was taken meanwhile.
 */
export function startTestGatewayAt(
  options: (port: number, url: string) => TestGatewayOptions,
): Promise<TestGateway> {
  return onFreePort((port) => {
    const opts = options(port, `http://127.0.0.1:${port}`);
    return startTestGateway({ ...opts, env: { PORT: String(port), ...opts.env } });
  });
}

export async function startTestGateway(opts: TestGatewayOptions = {}): Promise<TestGateway> {
  const database = opts.database ?? (await createTestDatabase(opts.dialect ?? defaultDialect()));
  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    SIMO_DATA_DIR: database.dataDir,
    LOG_LEVEL: opts.logLevel ?? 'silent',
    ...(database.databaseUrl ? { SIMO_DATABASE_URL: database.databaseUrl } : {}),
    ...opts.env,
  };
  // Suites sign up many tenants and open hundreds of connections from 127.0.0.1; the per-address
  // sign-up limit and connection cap have their own tests.
  // Every response a test provokes is checked against the schema its route documents.
  const overrides = {
    checkResponses: true,
    ...opts.config,
    limits: { signupsPerMinute: 10_000, maxConnectionsPerAddress: 10_000, ...opts.config?.limits },
  };
  const config = loadConfig({ env, overrides });
  const ownsDatabase = !opts.database;
  let server: RunningServer;
  try {
    server = await startServer(
      config,
      createLogger(config.logLevel, opts.logStream),
      opts.clock ? { clock: opts.clock } : {},
    );
  } catch (err) {
    if (ownsDatabase) await database.drop();
    throw err;
  }
  const url = server.url;
  return {
    url,
    v1: `${url}/v1`,
    server,
    database,
    signUp: (email?: string) => signUpAt(url, email),
    async stop() {
      await server.stop();
      if (ownsDatabase) await database.drop();
    },
  };
}
