/**
 * The developer's journey in a real Chromium: sign up through the form, see the key once, use it,
 * rotate it from the page, add a webhook and send a test, see usage on the chart, stream in the
 * playground, log out and back in, with no console error on any page. Screenshots of every page go to
 * artifacts/screenshots/.
 */
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { movableClock, startTestGateway, type TestGateway } from '../support/gateway.js';
import { describeWith } from '../support/services.js';
import {
  accessibilityFacts,
  collectPageErrors,
  eventually,
  launchChromium,
  type ReceivedHook,
  screenshot,
  startHookReceiver,
} from './browser-support.js';

// Each step drives a real browser and may wait for an asynchronous webhook delivery on a busy CI machine.
vi.setConfig({ testTimeout: 60_000 });

const PASSWORD = 'a long and careful passphrase';
const ADMIN_TOKEN = 'operator-token-for-portal-tests';
const text = async (locator: Locator) => (await locator.textContent()) ?? '';

await describeWith('browser', 'developer portal and dashboard in Chromium', () => {
  let gw: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let receiver: Awaited<ReturnType<typeof startHookReceiver>>;
  const email = `portal-${Date.now()}@example.com`;
  let firstKey = '';
  let currentKey = '';

  /** Whether an API exists in this build (a 404 "No route" means another module has not landed). */
  const routeExists = async (method: string, path: string, key: string) => {
    const res = await fetch(`${gw.url}${path}`, { method, headers: { authorization: `Bearer ${key}` } });
    if (res.status !== 404) return true;
    const body = (await res.json()) as { error?: { message?: string } };
    return !body.error?.message?.startsWith('No route');
  };
  const skipping = (what: string) =>
    console.warn(`[portal test] ${what}: API not available in this build, part skipped`);

  const chat = (key: string, content: string) =>
    fetch(`${gw.v1}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'qwen/qwen3-8b', messages: [{ role: 'user', content }] }),
    });

  const clock = movableClock();
  beforeAll(async () => {
    receiver = await startHookReceiver();
    gw = await startTestGateway({
      clock: clock.now,
      env: { SIMO_WEBHOOK_ALLOW_PRIVATE: 'true', SIMO_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    browser = await launchChromium();
    context = await browser.newContext({ baseURL: gw.url, viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
    errors = collectPageErrors(page);
    // Rotate/revoke/delete ask for confirmation; the test accepts like a user would.
    page.on('dialog', (dialog) => void dialog.accept());
  });

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await receiver?.close();
  });

  it('serves the public pages with strict security headers', async () => {
    for (const [path, name] of [
      ['/', 'landing'],
      ['/docs', 'docs'],
      ['/compare', 'compare'],
      ['/login', 'login'],
      ['/register', 'register'],
    ] as const) {
      const res = await page.goto(path);
      expect(res?.status(), path).toBe(200);
      const headers = res!.headers();
      expect(headers['content-security-policy']).toContain("script-src 'self'");
      expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(headers['x-content-type-options']).toBe('nosniff');
      expect(await accessibilityFacts(page), path).toEqual({ unlabeled: [], h1: 1, main: 1 });
      await screenshot(page, `public-${name}`);
    }
    await page.goto('/');
    expect(await text(page.locator('[data-testid="model-table"]'))).toContain('qwen/qwen3-8b');
    await page.goto('/docs');
    const docs = await text(page.locator('article'));
    expect(docs).toContain(`${gw.server.container.config.publicUrl}/v1/chat/completions`);
    expect(docs).toContain('qwen/qwen3-8b');
  });

  it('signs up through the form and shows the key exactly once', async () => {
    await page.goto('/register');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await Promise.all([
      page.waitForURL('**/dashboard'),
      page.getByRole('button', { name: 'Create account' }).click(),
    ]);
    const secret = page.locator('#new-key-panel [data-testid="secret-value"]');
    await secret.waitFor();
    firstKey = (await text(secret)).trim();
    expect(firstKey).toMatch(/^sk-simo-/);
    currentKey = firstKey;
    await screenshot(page, 'dashboard-overview-new-key');

    const models = await fetch(`${gw.v1}/models`, { headers: { authorization: `Bearer ${firstKey}` } });
    expect(models.status).toBe(200);

    await page.reload();
    expect(await page.content()).not.toContain(firstKey);
    expect(await page.locator('#new-key-panel').count()).toBe(0);
    await screenshot(page, 'dashboard-overview');
  });

  it('rotates the key from the keys page; the old key is refused', async () => {
    await page.goto('/dashboard/keys');
    const row = page.locator('[data-testid="keys-table"] tbody tr').first();
    await row.waitFor();
    await row.getByRole('button', { name: 'Rotate' }).click();
    const secret = page.locator('#new-key-panel [data-testid="secret-value"]');
    await expect.poll(async () => (await text(secret)).trim()).toMatch(/^sk-simo-/);
    const rotated = (await text(secret)).trim();
    expect(rotated).not.toBe(firstKey);
    await screenshot(page, 'dashboard-keys-rotated');

    const oldRes = await fetch(`${gw.v1}/models`, { headers: { authorization: `Bearer ${firstKey}` } });
    expect(oldRes.status).toBe(401);
    const newRes = await fetch(`${gw.v1}/models`, { headers: { authorization: `Bearer ${rotated}` } });
    expect(newRes.status).toBe(200);
    currentKey = rotated;

    await page.getByRole('button', { name: 'Done' }).click();
    await page.waitForLoadState('load');
    expect(await page.content()).not.toContain(rotated);

    // A named key created from the page works, is listed by name, and stops working once revoked.
    await page.getByLabel('Name').fill('ci runner');
    await page.getByRole('button', { name: 'Create key' }).click();
    await expect.poll(async () => (await text(secret)).trim()).toMatch(/^sk-simo-/);
    const named = (await text(secret)).trim();
    expect((await fetch(`${gw.v1}/models`, { headers: { 'x-api-key': named } })).status).toBe(200);
    await page.getByRole('button', { name: 'Done' }).click();
    const namedRow = page.locator('[data-testid="keys-table"] tbody tr', { hasText: 'ci runner' });
    await namedRow.waitFor();
    await screenshot(page, 'dashboard-keys');
    await namedRow.getByRole('button', { name: 'Revoke' }).click();
    await namedRow.locator('.badge', { hasText: 'revoked' }).waitFor();
    expect((await fetch(`${gw.v1}/models`, { headers: { 'x-api-key': named } })).status).toBe(401);
  });

  it('adds a webhook, shows its secret once and sends a test event', async () => {
    if (!(await routeExists('GET', '/admin/webhooks', currentKey))) return skipping('webhooks');
    await page.goto('/dashboard/webhooks');
    await page.getByLabel('Endpoint URL').fill(receiver.url);
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const secret = page.locator('#webhook-secret-panel [data-testid="secret-value"]');
    await expect.poll(async () => (await text(secret)).trim()).toMatch(/^whsec_/);
    await screenshot(page, 'dashboard-webhook-secret');
    await page.getByRole('button', { name: 'Done' }).click();
    const row = page.locator('[data-testid="webhooks-table"] tbody tr', { hasText: receiver.url });
    await row.waitFor();
    await row.getByRole('button', { name: 'Send test' }).click();
    await page.locator('#status', { hasText: 'Test event queued' }).waitFor();
    const hook = await eventually<ReceivedHook>(() =>
      receiver.received.find((r) => r.headers['x-simo-event'] === 'webhook.test'),
    );
    expect(hook.headers['x-simo-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    await screenshot(page, 'dashboard-webhooks');

    await row.getByRole('link', { name: 'Deliveries' }).click();
    await page.waitForURL('**/dashboard/webhooks/*');
    await eventually(async () => {
      await page.reload();
      return (await text(page.locator('[data-testid="deliveries-table"]'))).includes('delivered')
        ? true
        : undefined;
    });
    // The API gives attempt times in Unix seconds; the page shows the real date and time.
    const when = await page
      .locator('[data-testid="deliveries-table"] tbody time')
      .first()
      .getAttribute('datetime');
    expect(Math.abs(Date.parse(when!) - Date.now())).toBeLessThan(120_000);
    await screenshot(page, 'dashboard-webhook-deliveries');
  });

  it('shows requests on the usage chart', async () => {
    if (!(await routeExists('GET', '/admin/usage', currentKey))) return skipping('usage');
    for (let i = 0; i < 3; i++) expect((await chat(currentKey, `Hello ${i}`)).status).toBe(200);
    const embed = await fetch(`${gw.v1}/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${currentKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'qwen/qwen3-embedding-0.6b', input: 'usage per model' }),
    });
    expect(embed.status).toBe(200);
    await eventually(async () => {
      await page.goto('/dashboard/usage');
      const total = Number((await text(page.locator('[data-testid="total-requests"]'))).replace(/,/g, ''));
      return total >= 4 ? total : undefined;
    });
    await expect.poll(() => page.locator('#usage-charts').getAttribute('data-rendered')).toBe('4');
    expect(await page.locator('main canvas').count()).toBe(4);
    const perModel = await text(page.locator('[data-testid="usage-by-model"]'));
    expect(perModel).toContain('qwen/qwen3-8b');
    expect(perModel).toContain('qwen/qwen3-embedding-0.6b');
    await screenshot(page, 'dashboard-usage');
  });

  it('streams a completion in the playground', async () => {
    await page.goto('/dashboard/playground');
    await page.getByLabel('Your message').fill('Say hello in five words.');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('#playground-form[data-done="true"]').waitFor();
    expect((await text(page.locator('[data-testid="playground-output"]'))).length).toBeGreaterThan(0);
    await screenshot(page, 'dashboard-playground');
  });

  it('renders credits, invoices and the audit log', async () => {
    // Once this month is over the operator closes it, so the tenant has an invoice with a printable page.
    const period = new Date().toISOString().slice(0, 7);
    clock.moveTo(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 1, 1, 0, 0, 1));
    const closed = await fetch(`${gw.url}/operator/invoices/close`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ period }),
    });
    await page.goto('/dashboard/billing');
    expect(await text(page.getByTestId('billing-balance'))).toMatch(/^\$\d/);
    if (closed.status === 404) skipping('invoices');
    else {
      expect(closed.status).toBe(200);
      const row = page.locator('[data-testid="invoices-table"] tbody tr', { hasText: period });
      await row.waitFor();
      const href = await row.getByRole('link').getAttribute('href');
      const invoice = await context.request.get(href!);
      expect(invoice.status()).toBe(200);
      expect(invoice.headers()['content-type']).toContain('text/html');
      const printable = await context.newPage();
      await printable.goto(href!);
      await screenshot(printable, 'dashboard-invoice-printable');
      await printable.close();
    }
    await screenshot(page, 'dashboard-billing');
    await page.goto('/dashboard/audit');
    if (await routeExists('GET', '/admin/audit', currentKey))
      expect(await text(page.locator('[data-testid="audit-table"]'))).toContain('key.rotated');
    await screenshot(page, 'dashboard-audit');
  });

  it('labels every field and has one heading and one main landmark on every dashboard page', async () => {
    for (const path of [
      '/dashboard',
      '/dashboard/keys',
      '/dashboard/usage',
      '/dashboard/billing',
      '/dashboard/webhooks',
      '/dashboard/audit',
      '/dashboard/playground',
    ]) {
      await page.goto(path);
      expect(await accessibilityFacts(page), path).toEqual({ unlabeled: [], h1: 1, main: 1 });
      // Everything is reachable by keyboard: the first Tab lands on the skip link.
      await page.keyboard.press('Tab');
      expect(await page.evaluate<string>('document.activeElement.textContent'), path).toBe('Skip to content');
    }
  });

  it('logs out and back in', async () => {
    await page.goto('/dashboard');
    await Promise.all([
      page.waitForURL((url) => !url.pathname.startsWith('/dashboard')),
      page.getByRole('button', { name: 'Log out' }).click(),
    ]);
    await page.goto('/dashboard');
    expect(new URL(page.url()).pathname).toBe('/login');
    // A wrong password comes back to the form with a readable error, and the email is not echoed in the URL.
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('not the password at all');
    await Promise.all([
      page.waitForURL('**/login?error=*'),
      page.getByRole('button', { name: 'Log in' }).click(),
    ]);
    expect(await text(page.getByRole('alert'))).toContain('password');
    expect(page.url()).not.toContain(encodeURIComponent(email));
    await screenshot(page, 'public-login-error');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await Promise.all([
      page.waitForURL('**/dashboard'),
      page.getByRole('button', { name: 'Log in' }).click(),
    ]);
    expect(await text(page.getByTestId('viewer-email'))).toBe(email);
  });

  it('logged no console error on any page', () => {
    expect(errors).toEqual([]);
  });

  it('fits a phone-sized screen without sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 800 });
    for (const [path, name] of [
      ['/', 'mobile-landing'],
      ['/docs', 'mobile-docs'],
      ['/dashboard/keys', 'mobile-dashboard-keys'],
      ['/dashboard/usage', 'mobile-dashboard-usage'],
    ] as const) {
      await page.goto(path);
      await screenshot(page, name);
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - window.innerWidth',
      );
      expect(overflow, path).toBeLessThanOrEqual(1);
    }
  });
});
