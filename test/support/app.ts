/**
 * The whole application in-process, without a listening socket: for route tests where real HTTP is
 * not the point (`app.inject` is several times faster than a request over loopback). Each call gets
 * its own database and its own container, built exactly as `startServer` builds them.
 */
import type { FastifyInstance } from 'fastify';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { type Container, createContainer } from '../../src/container.js';
import { createLogger } from '../../src/observability/logger.js';
import { createTestDatabase, type TestDatabase, type TestDialect } from './databases.js';
import type { SignedUp } from './gateway.js';

export interface TestApp {
  app: FastifyInstance;
  container: Container;
  database: TestDatabase;
  /** Signs up a fresh tenant through `POST /register` and returns its key. */
  signUp(email?: string): Promise<SignedUp>;
  close(): Promise<void>;
}

let emailCounter = 0;

/** Signs up a fresh tenant through `POST /register` on an in-process app. */
export async function signUpIn(app: FastifyInstance, email?: string): Promise<SignedUp> {
  const address = email ?? `user${Date.now()}-${++emailCounter}@example.com`;
  const password = 'correct horse battery staple';
  const res = await app.inject({
    method: 'POST',
    url: '/register',
    headers: { accept: 'application/json' },
    payload: { email: address, password },
  });
  if (res.statusCode !== 201) throw new Error(`sign-up failed: ${res.statusCode} ${res.body}`);
  const body = res.json() as { tenant_id: string; key_id: string; api_key: string };
  return { tenantId: body.tenant_id, keyId: body.key_id, apiKey: body.api_key, email: address, password };
}

export interface TestAppOptions {
  config?: ConfigInput;
  env?: Record<string, string>;
  dialect?: TestDialect;
}

export async function startTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const dialect = opts.dialect ?? (process.env.SIMO_TEST_DIALECT === 'postgres' ? 'postgres' : 'sqlite');
  const database = await createTestDatabase(dialect);
  const env: Record<string, string> = {
    SIMO_DATA_DIR: database.dataDir,
    LOG_LEVEL: 'silent',
    ...(database.databaseUrl ? { SIMO_DATABASE_URL: database.databaseUrl } : {}),
    ...opts.env,
  };
  // Every response a test provokes is checked against the schema its route documents.
  const overrides = {
    checkResponses: true,
    ...opts.config,
    limits: { signupsPerMinute: 10_000, ...opts.config?.limits },
  };
  const config = loadConfig({ env, overrides });
  const container = await createContainer(config, createLogger(config.logLevel));
  const app = await createApp(container);
  await app.ready();
  return {
    app,
    container,
    database,
    signUp: (email?: string) => signUpIn(app, email),
    async close() {
      await app.close();
      await container.close();
      await database.drop();
    },
  };
}
