/**
 * Which external services the suite can use. PostgreSQL, Redis and Chromium suites run when the service
 * is reachable and are skipped (saying so) when not, unless SIMO_TEST_REQUIRE lists them: then a missing
 * service fails the run. CI sets SIMO_TEST_REQUIRE=pg,redis,browser.
 */
import { existsSync } from 'node:fs';
import { connect } from 'node:net';

export type Service = 'pg' | 'redis' | 'browser';

export const TEST_DATABASE_URL =
  process.env.SIMO_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.SIMO_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const CHROMIUM_PATH = process.env.SIMO_TEST_CHROMIUM ?? '/usr/bin/chromium';

const required = new Set(
  (process.env.SIMO_TEST_REQUIRE ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

function tcpReachable(url: string, defaultPort: number): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || defaultPort) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const probes: Record<Service, () => Promise<boolean>> = {
  pg: () => tcpReachable(TEST_DATABASE_URL, 5432),
  redis: () => tcpReachable(TEST_REDIS_URL, 6379),
  browser: async () => existsSync(CHROMIUM_PATH),
};

const availability = new Map<Service, Promise<boolean>>();

/** Whether a service can be used; throws when it is required but missing. */
export async function serviceAvailable(service: Service): Promise<boolean> {
  let probe = availability.get(service);
  if (!probe) {
    probe = probes[service]();
    availability.set(service, probe);
  }
  const ok = await probe;
  if (!ok && required.has(service))
    throw new Error(`SIMO_TEST_REQUIRE lists '${service}', but it is not reachable/installed`);
  return ok;
}

/** `describe` that runs only when the service is there, and says clearly when it skips. */
export async function describeWith(service: Service, name: string, body: () => void): Promise<void> {
  // Imported here so scripts outside vitest can use this module's probes and URLs.
  const { describe } = await import('vitest');
  const ok = await serviceAvailable(service);
  if (!ok)
    console.warn(
      `[skipped] ${name}: ${service} is not available (set SIMO_TEST_REQUIRE=${service} to fail instead)`,
    );
  describe.skipIf(!ok)(`${name} [${service}]`, body);
}
