import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call } from '../accounts/http.js';
import { startTestGateway } from '../support/gateway.js';
import { simosphere as runCli } from './cli-runner.js';

const simosphere = (dataDir: string, ...args: string[]) => runCli(dataDir, args);

describe('simosphere tenant …', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'simo-cli-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('create → list → set (plan, rpm, models, suspend/resume) → server honours it', async () => {
    const created = await simosphere(
      dataDir,
      'tenant',
      'create',
      '--email',
      'cli@example.com',
      '--plan',
      'professional',
      '--json',
    );
    expect(created.code, created.stderr).toBe(0);
    const { tenant_id, api_key } = JSON.parse(created.stdout) as { tenant_id: string; api_key: string };
    expect(api_key).toMatch(/^sk-simo-/);

    const listed = await simosphere(dataDir, 'tenant', 'list');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(
      new RegExp(`${tenant_id}\\s+professional\\s+600\\s+all\\s+active\\s+cli@example.com`),
    );

    const set = await simosphere(
      dataDir,
      'tenant',
      'set',
      '--tenant',
      tenant_id,
      '--plan',
      'enterprise',
      '--rpm',
      '900',
      '--models',
      'qwen/qwen3-8b',
      '--suspend',
      '--json',
    );
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({
      plan: 'enterprise',
      rpm: 900,
      models: ['qwen/qwen3-8b'],
      suspended: true,
    });

    // A server on the same database sees the suspension, then the resumption.
    const gw = await startTestGateway({
      database: { dialect: 'sqlite', databaseUrl: undefined, dataDir, drop: async () => {} },
    });
    try {
      const refused = await call(gw.url, 'GET', '/v1/models', { key: api_key });
      expect(refused.status).toBe(403);
      const resumed = await simosphere(
        dataDir,
        'tenant',
        'set',
        '--tenant',
        tenant_id,
        '--resume',
        '--rpm',
        'plan',
      );
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stdout).toContain('status:    active');
      gw.server.container.authenticator.clear();
      const models = await call(gw.url, 'GET', '/v1/models', { key: api_key });
      expect(models.status).toBe(200);
      expect(models.body.data.map((m: { id: string }) => m.id)).toEqual(['qwen/qwen3-8b']);
      expect(models.headers.get('x-ratelimit-limit')).toBe('6000');
      const audit = await call(gw.url, 'GET', '/admin/audit?limit=100', { key: api_key });
      const entries = audit.body.data as Array<{ action: string; actor: string }>;
      expect(entries.filter((e) => e.actor === 'cli').map((e) => e.action)).toEqual(
        expect.arrayContaining([
          'tenant.created',
          'tenant.plan_changed',
          'tenant.suspended',
          'tenant.resumed',
        ]),
      );
    } finally {
      await gw.stop();
    }
  });

  it('bad input fails with one line and a non-zero exit', async () => {
    const bad = [
      ['tenant', 'set', '--tenant', 'ten_nope', '--plan', 'starter'],
      ['tenant', 'set', '--tenant', 'ten_nope', '--rpm', 'lots'],
      ['tenant', 'create', '--email', 'cli@example.com'],
      ['key', 'create', '--tenant', 'ten_nope', '--scopes', 'root'],
    ];
    const results = await Promise.all(bad.map((args) => simosphere(dataDir, ...args)));
    for (const [i, r] of results.entries()) {
      expect(r.code, bad[i]!.join(' ')).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^simosphere: /);
    }
  });
});
