import { describe, expect, it } from 'vitest';
import { configSchema, modelSchema } from '../../config/schema.js';
import type { ProviderEntry } from '../../providers/registry.js';
import { AffinityMap, conversationKey } from './affinity.js';
import { RouteHealth } from './route-health.js';
import { RouteTable } from './route-table.js';

const entry = (breaker?: ProviderEntry['breaker']): ProviderEntry =>
  ({ adapter: {} as ProviderEntry['adapter'], timeoutMs: 1000, breaker }) as ProviderEntry;

describe('route health', () => {
  it('opens after the configured failures in a row, probes once after the cooldown, closes on success', () => {
    const transitions: string[] = [];
    const h = new RouteHealth('p/m', 'p', 'm', { failures: 3, cooldownMs: 1000 }, (_h, s) =>
      transitions.push(s),
    );
    h.failed(0);
    h.succeeded(5);
    h.failed(1);
    h.failed(2);
    expect(h.state).toBe('closed');
    h.failed(3);
    expect(h.state).toBe('open');
    expect(h.admit(500)).toBe(false);
    expect(h.admit(1003)).toBe(true); // the probe
    expect(h.state).toBe('half-open');
    expect(h.admit(1004)).toBe(false); // one probe at a time
    h.succeeded(5);
    expect(h.state).toBe('closed');
    expect(transitions).toEqual(['open', 'half-open', 'closed']);
  });

  it('reopens when the probe fails, and frees the probe when it says nothing', () => {
    const h = new RouteHealth('p/m', 'p', 'm', { failures: 1, cooldownMs: 100 }, undefined);
    h.failed(0);
    expect(h.admit(100)).toBe(true);
    h.released();
    expect(h.admit(101)).toBe(true);
    h.failed(101);
    expect(h.state).toBe('open');
    expect(h.openUntil).toBe(201);
  });

  it('never opens without a breaker', () => {
    const h = new RouteHealth('p/m', 'p', 'm', undefined, undefined);
    for (let i = 0; i < 100; i++) h.failed(i);
    expect(h.admit(100)).toBe(true);
    expect(h.errorRate).toBeGreaterThan(0.9);
  });
});

describe('strategies', () => {
  const providers = new Map([
    ['a', entry()],
    ['b', entry()],
  ]);

  it('weighted 3:1 gives exactly three of four first tries to the heavier route', () => {
    const table = new RouteTable(providers);
    const model = modelSchema.parse({
      id: 'm',
      strategy: 'weighted',
      routes: [
        { provider: 'a', weight: 3 },
        { provider: 'b', weight: 1 },
      ],
    });
    const routes = table.routesOf(model);
    const firsts = Array.from({ length: 400 }, () => routes.start());
    expect(firsts.filter((i) => i === 0)).toHaveLength(300);
  });

  it('least-latency prefers the faster route and measures the slower one again after a while', () => {
    const table = new RouteTable(providers);
    const model = modelSchema.parse({
      id: 'm',
      strategy: 'least-latency',
      routes: [{ provider: 'a' }, { provider: 'b' }],
    });
    const routes = table.routesOf(model);
    routes.targets[0]!.health.succeeded(200);
    routes.targets[1]!.health.succeeded(5);
    const firsts = Array.from({ length: 200 }, () => routes.start());
    // Both are measured once (neither was chosen before), then only the fast one.
    expect(firsts.filter((i) => i === 0)).toHaveLength(1);
    // A route not chosen for a second is measured again.
    routes.targets[0]!.health.lastChosenAt -= 2_000;
    expect(routes.start()).toBe(0);
    expect(routes.start()).toBe(1);
  });

  it('least-outstanding picks the route with fewer requests in flight', () => {
    const table = new RouteTable(providers);
    const model = modelSchema.parse({
      id: 'm',
      strategy: 'least-outstanding',
      routes: [{ provider: 'a' }, { provider: 'b' }],
    });
    const routes = table.routesOf(model);
    routes.targets[0]!.health.outstanding = 4;
    routes.targets[1]!.health.outstanding = 1;
    expect(routes.start()).toBe(1);
    expect(routes.start()).toBe(1);
  });

  it('shares one health between models served by the same upstream model', () => {
    const table = new RouteTable(providers);
    const one = table.routesOf(modelSchema.parse({ id: 'x', routes: [{ provider: 'a', model: 'up' }] }));
    const two = table.routesOf(modelSchema.parse({ id: 'y', routes: [{ provider: 'a', model: 'up' }] }));
    expect(one.targets[0]!.health).toBe(two.targets[0]!.health);
  });
});

describe('conversation affinity', () => {
  const hints = { tenantId: 't1' };
  const turn = (n: number) => {
    const messages: unknown[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'First question' },
    ];
    for (let i = 1; i < n; i++)
      messages.push({ role: 'assistant', content: `answer ${i}` }, { role: 'user', content: `q ${i}` });
    return { messages };
  };

  it('keys a growing conversation the same on every turn, and per tenant', () => {
    const first = conversationKey('m', turn(1), hints);
    expect(conversationKey('m', turn(5), hints)).toBe(first);
    expect(conversationKey('m', turn(5), { tenantId: 't2' })).not.toBe(first);
    expect(conversationKey('m', { messages: [{ role: 'user', content: 'other' }] }, hints)).not.toBe(first);
  });

  it('prefers prompt_cache_key, then the session header, then user', () => {
    const body = { ...turn(1), user: 'u', prompt_cache_key: 'pk' };
    expect(conversationKey('m', body, { ...hints, session: 's' })).toContain('kpk');
    expect(conversationKey('m', { ...turn(1), user: 'u' }, { ...hints, session: 's' })).toContain('ks');
    expect(conversationKey('m', { ...turn(1), user: 'u' }, hints)).toContain('ku');
  });

  it('forgets the oldest entries beyond its size and entries past their age', () => {
    const map = new AffinityMap(2, 1000);
    map.set('a', 0, 0);
    map.set('b', 1, 0);
    map.set('c', 1, 0);
    expect(map.get('a', 0)).toBeUndefined();
    expect(map.get('b', 0)).toBe(1);
    expect(map.get('c', 1001)).toBeUndefined();
  });
});

describe('routing config', () => {
  const provider = { id: 'a', type: 'openai-compatible', baseUrl: 'http://127.0.0.1:8000/v1' } as const;
  const base = { plans: { starter: { rpm: 1 } }, models: [{ id: 'm', routes: [{ provider: 'a' }] }] };

  it('refuses a health check on a provider without a breaker', () => {
    const result = configSchema.safeParse({ ...base, providers: [{ ...provider, healthCheck: {} }] });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['providers', 0, 'healthCheck']);
  });

  it('defaults to the ordered strategy, weight 1, no breaker and no route header', () => {
    const cfg = configSchema.parse({ ...base, providers: [provider] });
    expect(cfg.models[0]).toMatchObject({ strategy: 'ordered', affinity: true, routes: [{ weight: 1 }] });
    expect(cfg.providers[0]?.breaker).toBeUndefined();
    expect(cfg.routing.routeHeader).toBe(false);
  });
});
