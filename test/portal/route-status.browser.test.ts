/**
 * The operator's route status page in a real Chromium: it asks for the operator token, then shows every
 * route with its breaker state, latency and error rate, and follows a circuit as it opens.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { describeWith } from '../support/services.js';
import { collectPageErrors, launchChromium, screenshot } from './browser-support.js';

vi.setConfig({ testTimeout: 60_000 });

const ADMIN_TOKEN = 'operator-token-for-tests-0123456789';

await describeWith('browser', 'operator route status in Chromium', () => {
  let up: FakeUpstream;
  let gw: TestGateway;
  let browser: Browser;
  let apiKey: string;

  beforeAll(async () => {
    up = await startFakeUpstream();
    gw = await startTestGateway({
      env: { SIMO_ADMIN_TOKEN: ADMIN_TOKEN },
      config: {
        providers: [
          {
            id: 'primary',
            type: 'openai-compatible',
            baseUrl: up.v1,
            breaker: { failures: 2, cooldownMs: 600_000 },
          },
          { id: 'spare', type: 'simulator' },
        ],
        models: [{ id: 'chat', routes: [{ provider: 'primary', model: 'big' }, { provider: 'spare' }] }],
      },
    });
    ({ apiKey } = await gw.signUp());
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await up?.stop();
  });

  const chat = () =>
    fetch(`${gw.v1}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'Hello' }] }),
    });

  it('shows routes, breaker state, latency and error rate once the operator token is given', async () => {
    expect((await chat()).status).toBe(200);
    const page = await browser.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${gw.url}/operator/status`);
    // No data without the token; a wrong one is refused.
    await page.getByLabel('Operator token').fill('not-the-operator-token-at-all');
    await page.getByRole('button', { name: 'Show routes' }).click();
    await expect
      .poll(() => page.locator('#route-status-message').textContent())
      .toBe('Incorrect operator token.');
    await page.getByLabel('Operator token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Show routes' }).click();

    const primary = page.locator('tr[data-route="primary/big"]');
    await primary.waitFor();
    expect(await primary.locator('[data-testid="models"]').textContent()).toBe('chat');
    expect(await primary.locator('[data-testid="breaker"]').textContent()).toBe('closed');
    expect(await primary.locator('[data-testid="latency"]').textContent()).toMatch(/^\d+ ms$/);
    expect(await primary.locator('[data-testid="error-rate"]').textContent()).toBe('0.0 %');
    expect(await page.locator('tr[data-route="spare/chat"] [data-testid="breaker"]').textContent()).toBe(
      'none',
    );

    // The upstream fails: the circuit opens and the page shows it on its next refresh.
    await up.control('status:503');
    expect((await chat()).status).toBe(200);
    expect((await chat()).status).toBe(200);
    await expect
      .poll(() => primary.locator('[data-testid="breaker"]').textContent(), { timeout: 10_000 })
      .toBe('open');
    expect(await primary.locator('[data-testid="failures"]').textContent()).toBe('2');
    expect(await primary.locator('[data-testid="error-rate"]').textContent()).not.toBe('0.0 %');
    await screenshot(page, 'operator-route-status');
    // The admin credential is kept in the script's memory only, out of reach of other scripts on the
    // origin: nothing in web storage, and a reload asks for it again.
    expect(await page.evaluate<number[]>('[sessionStorage.length, localStorage.length]')).toEqual([0, 0]);
    await page.reload();
    await expect
      .poll(() => page.locator('#route-status-message').textContent())
      .toBe('Enter the operator token (SIMO_ADMIN_TOKEN).');
    expect(await page.locator('#route-status-table').isHidden()).toBe(true);
    expect(errors.filter((e) => !e.includes('401'))).toEqual([]);
    await page.close();
  });
});
