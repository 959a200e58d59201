/**
 * What a new user met on the dashboard, in a real Chromium: lists that update without a reload after
 * a change, a keys table and code samples that fit a phone, whole-number chart ticks for small
 * counts, and "1 request" rather than "1 requests".
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { loginJson } from '../accounts/http.js';
import { type SignedUp, startTestGateway, type TestGateway } from '../support/gateway.js';
import { describeWith } from '../support/services.js';
import { collectPageErrors, launchChromium, screenshot } from './browser-support.js';

vi.setConfig({ testTimeout: 60_000 });

/**
 * Records the labels uPlot draws on each chart's y axis (`window.__yTicks[chart]`): the page's own
 * axis formatter is wrapped before the chart library loads, so the test reads exactly what is drawn.
 */
const RECORD_Y_TICKS = `(() => {
  window.__yTicks = {};
  let real;
  Object.defineProperty(window, 'uPlot', {
    configurable: true,
    get: () => real,
    set: (U) => {
      const Wrapped = function (opts, data, target) {
        const axis = opts.axes && opts.axes[1];
        if (axis && typeof axis.values === 'function') {
          const values = axis.values;
          axis.values = (...args) => {
            const out = values(...args);
            window.__yTicks[target.getAttribute('data-chart')] = out.map(String);
            return out;
          };
        }
        return new U(opts, data, target);
      };
      Object.assign(Wrapped, U);
      Wrapped.prototype = U.prototype;
      real = Wrapped;
    },
  });
})();`;

/** A plural noun after the count 1 ("1 requests"): always a mistake in these pages. */
const ONE_PLURAL =
  /(?<![\d.,])1 (requests|tokens|keys|endpoints|deliveries|attempts|events|entries|invoices)\b/;

await describeWith('browser', 'dashboard lists, small screens, chart ticks and plurals in Chromium', () => {
  let gw: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let user: SignedUp;

  /** Marks the current document; a reload or navigation loses the mark. */
  const markDocument = () => page.evaluate('window.__sameDocument = true');
  const sameDocument = () => page.evaluate<boolean>('window.__sameDocument === true');

  beforeAll(async () => {
    gw = await startTestGateway({
      env: { SIMO_WEBHOOK_ALLOW_PRIVATE: 'true' },
      // A one-request plan only to show the landing page's singular.
      config: { plans: { starter: { rpm: 60 }, hobby: { rpm: 1 } } },
    });
    user = await gw.signUp();
    const { cookie } = await loginJson(gw.url, user.email, user.password);
    browser = await launchChromium();
    context = await browser.newContext({ baseURL: gw.url, viewport: { width: 1280, height: 860 } });
    const [name, value] = cookie.split('=') as [string, string];
    await context.addCookies([{ name, value, url: gw.url }]);
    await context.addInitScript(RECORD_Y_TICKS);
    page = await context.newPage();
    errors = collectPageErrors(page);
    page.on('dialog', (dialog) => void dialog.accept());
  });

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
  });

  const keyRows = () => page.locator('[data-testid="keys-table"] tbody tr');

  it('shows a created key in the list at once, without a reload', async () => {
    await page.goto('/dashboard/keys');
    await expect.poll(() => keyRows().count()).toBe(1);
    await markDocument();
    await page.getByLabel('Name').fill('nightly batch');
    await page.getByRole('button', { name: 'Create key' }).click();
    const row = keyRows().filter({ hasText: 'nightly batch' });
    await row.waitFor();
    expect(await row.locator('.badge').textContent()).toBe('active');
    expect(await keyRows().count()).toBe(2);
    // The key is still on screen to copy: the list changed, the secret panel did not.
    expect(await page.locator('#new-key-panel [data-testid="secret-value"]').textContent()).toMatch(
      /^sk-simo-/,
    );
    expect(await sameDocument()).toBe(true);
  });

  it('shows the rotated key and the revoked old one at once, without a reload', async () => {
    await page.goto('/dashboard/keys');
    await markDocument();
    const old = keyRows().filter({ hasText: 'nightly batch' });
    const oldId = await old.getAttribute('data-key-id');
    await old.getByRole('button', { name: 'Rotate' }).click();
    await page.locator(`tr[data-key-id="${oldId}"] .badge`, { hasText: 'revoked' }).waitFor();
    await expect.poll(() => keyRows().count()).toBe(3);
    const fresh = keyRows().filter({ hasText: 'nightly batch' }).filter({ hasText: 'active' });
    expect(await fresh.count()).toBe(1);
    expect(await fresh.getAttribute('data-key-id')).not.toBe(oldId);
    // Rows that arrived with the refresh act like the first ones: revoke the new key.
    await fresh.getByRole('button', { name: 'Revoke' }).click();
    await expect
      .poll(() => keyRows().filter({ hasText: 'nightly batch' }).filter({ hasText: 'active' }).count())
      .toBe(0);
    expect(await sameDocument()).toBe(true);
  });

  it('shows an added webhook endpoint in the list at once, without a reload', async () => {
    await page.goto('/dashboard/webhooks');
    expect(await page.locator('[data-testid="webhooks-table"]').textContent()).toContain('No endpoints yet.');
    await markDocument();
    const url = 'http://127.0.0.1:9/new-endpoint';
    await page.getByLabel('Endpoint URL').fill(url);
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.locator('#status', { hasText: 'Send it a test event from the list below' }).waitFor();
    const table = page.locator('[data-testid="webhooks-table"]');
    await table.locator('tbody tr', { hasText: url }).waitFor();
    expect(await table.textContent()).not.toContain('No endpoints yet.');
    expect(await page.locator('#webhook-secret-panel [data-testid="secret-value"]').textContent()).toMatch(
      /^whsec_/,
    );
    expect(await sameDocument()).toBe(true);
  });

  it('draws whole-number y ticks, each once, for small counts', async () => {
    const res = await fetch(`${gw.v1}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'qwen/qwen3-8b', messages: [{ role: 'user', content: 'One request' }] }),
    });
    expect(res.status).toBe(200);
    await page.goto('/dashboard/usage');
    expect(await page.getByTestId('total-requests').textContent()).toBe('1');
    await expect.poll(() => page.locator('#usage-charts').getAttribute('data-rendered')).toBe('4');
    const ticks = await page.evaluate<Record<string, string[]>>('window.__yTicks');
    for (const chart of ['requests', 'tokens', 'models']) {
      const labels = ticks[chart] ?? [];
      expect(labels.length, chart).toBeGreaterThanOrEqual(2);
      for (const label of labels) expect(label, chart).toMatch(/^\d{1,3}(,\d{3})*$/);
      expect(new Set(labels).size, `${chart}: ${labels.join(' ')}`).toBe(labels.length);
    }
    expect(ticks.requests?.slice(0, 2)).toEqual(['0', '1']);
    const cost = ticks.cost ?? [];
    expect(new Set(cost).size, cost.join(' ')).toBe(cost.length);
    await screenshot(page, 'dashboard-usage-one-request');
  });

  it('says "1 request", never "1 requests"', async () => {
    await page.goto('/dashboard');
    const spend = page.locator('.card', { hasText: 'Spend this month' }).locator('.label').last();
    expect(await spend.textContent()).toMatch(/^1 request · \d[\d,]* tokens?$/);
    await page.goto('/');
    expect(await page.locator('.plans').textContent()).toMatch(/(?<!\d)1 request per minute/);
    for (const path of [
      '/',
      '/compare',
      '/dashboard',
      '/dashboard/keys',
      '/dashboard/usage',
      '/dashboard/webhooks',
    ]) {
      await page.goto(path);
      expect(await page.locator('body').textContent(), path).not.toMatch(ONE_PLURAL);
    }
  });

  it('fits the keys table on a 375 px screen: every column visible without scrolling sideways', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto('/dashboard/keys');
    await screenshot(page, 'mobile-dashboard-keys-stacked');
    const width = 375;
    const cells = await keyRows()
      .first()
      .locator('td')
      .evaluateAll((tds) =>
        tds.map((td) => {
          const { left, right, width } = td.getBoundingClientRect();
          return { left, right, width };
        }),
      );
    expect(cells).toHaveLength(6);
    for (const [i, r] of cells.entries()) {
      expect(r.width, `column ${i + 1}`).toBeGreaterThan(0);
      expect(r.left, `column ${i + 1}`).toBeGreaterThanOrEqual(0);
      expect(r.right, `column ${i + 1}`).toBeLessThanOrEqual(width);
    }
    const active = keyRows().filter({ hasText: 'active' }).first();
    for (const name of ['Rotate', 'Revoke']) {
      const box = await active.getByRole('button', { name }).boundingBox();
      expect(box, name).not.toBeNull();
      expect(box!.x + box!.width, name).toBeLessThanOrEqual(width);
    }
    expect(
      await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth'),
    ).toBeLessThanOrEqual(1);
  });

  it('keeps every Copy button off the code it copies on a 375 px screen', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    for (const path of ['/', '/docs', '/dashboard']) {
      await page.goto(path);
      const overlaps = await page.evaluate<Array<{ index: number; overlap: boolean }>>(`(() => {
        const blocks = [...document.querySelectorAll('.copy-button')];
        return blocks.map((button, index) => {
          const code = button.parentElement.querySelector('pre code') || button.parentElement.querySelector('pre');
          const b = button.getBoundingClientRect();
          const c = code.getBoundingClientRect();
          const overlap = b.left < c.right && c.left < b.right && b.top < c.bottom && c.top < b.bottom;
          return { index, overlap };
        });
      })()`);
      expect(overlaps.length, path).toBeGreaterThan(0);
      expect(
        overlaps.filter((o) => o.overlap),
        path,
      ).toEqual([]);
    }
    await page.goto('/');
    await screenshot(page, 'mobile-landing-copy');
  });

  it('logged no console error', () => {
    expect(errors).toEqual([]);
  });
});
