import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { DistinctCounter, RateHistory, SlidingCounter } from '../../src/audit-flags/windows.js';
import { nextAttemptAt, retryDelayMs } from '../../src/webhooks/backoff.js';
import { SecretBox } from '../../src/webhooks/secret-box.js';
import { resolveServerSecret } from '../../src/webhooks/server-secret.js';
import { generateWebhookSecret, signatureHeaders } from '../../src/webhooks/signing.js';

const defaults = {
  retryBaseMs: 5_000,
  retryFactor: 3,
  retryMaxDelayMs: 7_200_000,
  giveUpAfterMs: 86_400_000,
};

describe('retry backoff', () => {
  it('retries first within 10 s, then grows, capped, with jitter', () => {
    expect(retryDelayMs(defaults, 1, () => 0)).toBe(2_500);
    expect(retryDelayMs(defaults, 1, () => 1)).toBe(5_000);
    expect(retryDelayMs(defaults, 2, () => 1)).toBe(15_000);
    expect(retryDelayMs(defaults, 3, () => 1)).toBe(45_000);
    expect(retryDelayMs(defaults, 30, () => 1)).toBe(7_200_000);
  });

  it('gives up after about a day of retries', () => {
    let now = 0;
    let attempts = 1;
    for (;;) {
      const next = nextAttemptAt(defaults, 0, attempts, now, () => 1);
      if (next === null) break;
      now = next;
      attempts++;
    }
    expect(now).toBeLessThanOrEqual(defaults.giveUpAfterMs);
    expect(now).toBeGreaterThan(defaults.giveUpAfterMs - defaults.retryMaxDelayMs);
    expect(attempts).toBeGreaterThan(10);
    expect(attempts).toBeLessThan(30);
  });
});

describe('signatures', () => {
  it('produces the seed header and Standard Webhooks headers that standardwebhooks verifies', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const body = JSON.stringify({ id: 'evt_1', type: 'webhook.test', data: { text: 'héllo' } });
    const ts = Math.floor(Date.now() / 1000);
    const headers = signatureHeaders(secret, 'evt_1', body, ts);
    expect(headers['x-simo-signature']).toBe(
      `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    );
    expect(headers['webhook-id']).toBe('evt_1');
    expect(headers['webhook-timestamp']).toBe(String(ts));
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow();
  });
});

describe('secret storage', () => {
  it('round-trips, refuses tampering and other keys', () => {
    const box = new SecretBox('server-secret-0123456789');
    const sealed = box.seal('whsec_abc');
    expect(sealed).not.toContain('whsec_abc');
    expect(box.seal('whsec_abc')).not.toBe(sealed);
    expect(box.open(sealed)).toBe('whsec_abc');
    expect(() => new SecretBox('another-secret-0123456789').open(sealed)).toThrow();
    const parts = sealed.split('.');
    parts[3] = Buffer.from('whsec_abd').toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow();
  });

  it('generates the server secret once, with 0600 permissions, and prefers the configured one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'simo-secret-'));
    const warnings: unknown[] = [];
    const logger = { warn: (...args: unknown[]) => warnings.push(args) };
    const first = resolveServerSecret(undefined, dir, logger as never);
    expect(first.length).toBeGreaterThanOrEqual(40);
    expect(statSync(join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
    expect(resolveServerSecret(undefined, dir, logger as never)).toBe(first);
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings)).not.toContain(first);
    expect(JSON.stringify(warnings)).toContain('SIMO_SECRET_KEY');
    expect(resolveServerSecret('configured-secret-value', dir, logger as never)).toBe(
      'configured-secret-value',
    );
    expect(readFileSync(join(dir, 'secret.key'), 'utf8').trim()).toBe(first);
  });
});

describe('audit rule counters', () => {
  it('SlidingCounter counts within the window only', () => {
    const c = new SlidingCounter(1_000);
    expect(c.add('a', 0)).toBe(1);
    expect(c.add('a', 500)).toBe(2);
    expect(c.add('a', 1_000)).toBe(2);
    expect(c.add('a', 2_001)).toBe(1);
    expect(c.add('b', 2_001)).toBe(1);
  });

  it('SlidingCounter stays bounded under a flood of subjects', () => {
    const c = new SlidingCounter(1_000, 100);
    for (let i = 0; i < 10_000; i++) c.add(`k${i}`, i);
    expect((c as unknown as { hits: Map<string, unknown> }).hits.size).toBeLessThanOrEqual(100);
  });

  it('DistinctCounter counts distinct values in the window', () => {
    const c = new DistinctCounter(1_000);
    expect(c.add('key', '1.1.1.1', 0)).toBe(1);
    expect(c.add('key', '1.1.1.1', 10)).toBe(1);
    expect(c.add('key', '2.2.2.2', 20)).toBe(2);
    expect(c.add('key', '3.3.3.3', 1_015)).toBe(2);
    expect(c.add('other', '1.1.1.1', 1_015)).toBe(1);
  });

  it('RateHistory reports the current window against the usual rate', () => {
    const r = new RateHistory(100, 5);
    r.add('t', 0);
    r.add('t', 150);
    r.add('t', 250);
    const now = r.add('t', 350);
    expect(now).toEqual({ current: 1, baseline: 1, history: 3 });
    for (let i = 0; i < 8; i++) r.add('t', 360);
    expect(r.add('t', 399)).toEqual({ current: 10, baseline: 1, history: 3 });
    // Ten windows later only the last five count.
    expect(r.add('t', 1_350).history).toBe(5);
  });
});
