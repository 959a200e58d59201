/**
 * Redis stopping mid-test: the gateway keeps serving with its per-process fallback, logs the
 * transition once, shows it in /readyz and the metric, and returns to Redis when it is back. The
 * usage journal degrades the same way: settled usage is kept in the local write-ahead log only (and
 * still metered), which the logs and /readyz say.
 * Uses a throwaway redis-server child process, never the shared one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { randomBase62 } from '../../src/shared/ids.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { freePort } from '../support/free-port.js';

const REDIS_SERVER = '/usr/bin/redis-server';

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start')), 5_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', () => reject(new Error('redis-server exited')));
  });
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  // Already gone (e.g. a failed test stopped it and never restarted it): 'exit' will not come again.
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe.skipIf(!existsSync(REDIS_SERVER))('Redis stopping mid-test', () => {
  let port: number;
  let redis: ChildProcess;
  let database: TestDatabase;
  let server: RunningServer;
  const logLines: Array<{ level: number; msg: string }> = [];

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    database = await createTestDatabase('sqlite');
    const config = loadConfig({
      env: {
        PORT: '0',
        HOST: '127.0.0.1',
        SIMO_DATA_DIR: database.dataDir,
        SIMO_REDIS_URL: `redis://127.0.0.1:${port}`,
      },
      overrides: { plans: { starter: { rpm: 50 } }, redis: { keyPrefix: `test:${randomBase62(8)}:` } },
    });
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean))
          logLines.push(JSON.parse(line) as { level: number; msg: string });
        done();
      },
    });
    server = await startServer(config, createLogger('warn', sink));
  });
  afterAll(async () => {
    await server?.stop();
    if (redis) await stopRedis(redis);
    await database?.drop();
  });

  const limiterLogs = () => logLines.filter((l) => /rate limiter (degraded|recovered)/.test(l.msg));
  const journalLogs = () => logLines.filter((l) => /usage journal (degraded|recovered)/.test(l.msg));
  const readiness = async () => {
    const res = await fetch(`${server.url}/readyz`);
    return { status: res.status, checks: ((await res.json()) as { checks: Record<string, string> }).checks };
  };
  const gauge = async () => (await server.container.metrics.rateLimitDegraded.get()).values[0]?.value ?? 0;

  it('degrades instead of failing requests, says so once, and recovers', async () => {
    const res = await fetch(`${server.url}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        email: `deg${randomBase62(6)}@example.com`,
        password: 'correct horse battery staple',
      }),
    });
    expect(res.status).toBe(201);
    const { api_key: apiKey, tenant_id: tenantId } = (await res.json()) as {
      api_key: string;
      tenant_id: string;
    };
    const meteredRequests = async () => {
      await server.container.meter.flush();
      const rows = await server.container.database.db
        .selectFrom('usage_records')
        .select('request_id')
        .where('tenant_id', '=', tenantId)
        .execute();
      return rows.length;
    };
    const chat = () =>
      fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'qwen/qwen3-8b', messages: [{ role: 'user', content: 'hi' }] }),
      });

    expect((await chat()).headers.get('x-ratelimit-remaining')).toBe('49');
    expect((await readiness()).checks.rate_limiter).toBe('ok');
    expect((await readiness()).checks.usage_journal).toBe('redis');
    expect(await gauge()).toBe(0);

    await stopRedis(redis);
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const r = await chat();
      expect(r.status).toBe(200);
      expect(r.headers.get('x-ratelimit-limit')).toBe('50');
      expect(Number(r.headers.get('x-ratelimit-remaining'))).toBeLessThan(50);
      expect(performance.now() - started).toBeLessThan(500);
    }
    const degraded = await readiness();
    expect(degraded).toEqual({
      status: 200,
      checks: expect.objectContaining({ rate_limiter: 'degraded', usage_journal: 'degraded' }),
    });
    // Every answered request is still metered, from the local write-ahead log's path.
    expect(await meteredRequests()).toBe(6);
    expect(journalLogs().map((l) => l.msg)).toEqual([expect.stringMatching(/^usage journal degraded/)]);
    expect(journalLogs()[0]!.level).toBe(40);
    expect(await gauge()).toBe(1);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^simosphere_ratelimit_degraded 1$/m);
    expect(metrics).toMatch(
      /^simosphere_ratelimit_decisions_total\{backend="memory",decision="allowed"\} [1-9]/m,
    );
    expect(limiterLogs().map((l) => l.msg)).toEqual([expect.stringMatching(/^rate limiter degraded/)]);
    expect(limiterLogs()[0]!.level).toBe(40);

    redis = await startRedis(port);
    const deadline = Date.now() + 5_000;
    const healed = async () => {
      const { checks } = await readiness();
      return checks.rate_limiter === 'ok' && checks.usage_journal === 'redis';
    };
    while (!(await healed()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect((await readiness()).checks).toEqual(
      expect.objectContaining({ rate_limiter: 'ok', usage_journal: 'redis' }),
    );
    expect((await chat()).status).toBe(200);
    expect(await gauge()).toBe(0);
    expect(limiterLogs().map((l) => l.msg)).toEqual([
      expect.stringMatching(/^rate limiter degraded/),
      expect.stringMatching(/^rate limiter recovered/),
    ]);
    expect(await meteredRequests()).toBe(7);
    expect(journalLogs().map((l) => l.msg)).toEqual([
      expect.stringMatching(/^usage journal degraded/),
      expect.stringMatching(/^usage journal recovered/),
    ]);
  });
});
