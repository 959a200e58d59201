/**
 * Organizations in a real Chromium: an owner signs up, verifies the address from the mailed link (trial
 * credits arrive then), invites a developer and a billing member from the members page; each follows
 * the link read from the SMTP server, creates a login and sees exactly what their role allows — the
 * developer no invoices, the billing member no keys, refused by page and API alike.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startTestGatewayAt, type TestGateway } from '../support/gateway.js';
import { describeWith } from '../support/services.js';
import { linkIn, type SmtpSink, startSmtpSink } from '../support/smtp-sink.js';
import { launchChromium, screenshot } from './browser-support.js';

vi.setConfig({ testTimeout: 60_000 });

const PASSWORD = 'a long and careful passphrase';

/** A same-origin API call from the page, with the session cookie and the page's CSRF token. */
interface PageDocument {
  querySelector(selector: string): { getAttribute(name: string): string | null } | null;
}
const apiFromPage = (page: Page, method: string, path: string) =>
  page.evaluate(
    async ([m, p]) => {
      const doc = (globalThis as unknown as { document: PageDocument }).document;
      const csrf = doc.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
      const res = await fetch(p!, {
        method: m,
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: m === 'GET' ? undefined : '{}',
      });
      return { status: res.status, body: (await res.json()) as { error: Record<string, unknown> } };
    },
    [method, path],
  );

await describeWith('browser', 'organization members in Chromium', () => {
  let gw: TestGateway;
  let smtp: SmtpSink;
  let browser: Browser;
  let base = '';

  beforeAll(async () => {
    smtp = await startSmtpSink();
    // The public URL in mailed links is the server's own.
    gw = await startTestGatewayAt((_port, url) => ({
      env: { SIMO_PUBLIC_URL: url, SIMO_SMTP_URL: smtp.url },
    }));
    base = gw.url;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await smtp?.close();
  });

  const newPage = async () => {
    const context = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    return page;
  };
  const navLinks = async (page: Page) =>
    page.locator('nav[aria-label="Dashboard"] a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));

  /** Follows the invitation mailed to `email`, creates a login, lands on the dashboard. */
  async function acceptInvitation(email: string): Promise<Page> {
    const mail = await smtp.next(email, /invited/);
    const page = await newPage();
    await page.goto(linkIn(mail, `${base}/invite/`));
    await page.getByLabel('Choose a password').fill(PASSWORD);
    await Promise.all([
      page.waitForURL('**/dashboard'),
      page.getByRole('button', { name: 'Create login and join' }).click(),
    ]);
    return page;
  }

  it('owner signs up, verifies by mail, invites a developer and a billing member who each see what their role allows', async () => {
    const owner = await newPage();
    await owner.goto('/register');
    expect(await owner.content()).toContain('once you verify your email address');
    await owner.getByLabel('Email').fill('owner@browser.test');
    await owner.getByLabel('Password').fill(PASSWORD);
    await Promise.all([
      owner.waitForURL('**/dashboard'),
      owner.getByRole('button', { name: 'Create account' }).click(),
    ]);
    expect((await owner.locator('[data-testid="balance"]').textContent())?.trim()).toBe('$0.00');

    const verification = await smtp.next('owner@browser.test', /Verify/);
    await owner.goto(linkIn(verification, `${base}/verify-email?token=`));
    await owner.locator('[data-testid="verified"]').waitFor();
    await owner.goto('/dashboard');
    expect((await owner.locator('[data-testid="balance"]').textContent())?.trim()).toBe('$5.00');

    await owner.goto('/dashboard/members');
    for (const [email, role] of [
      ['dev@browser.test', 'developer'],
      ['money@browser.test', 'billing'],
    ] as const) {
      await owner.getByLabel('Email').fill(email);
      await owner.locator('#invite-role').selectOption(role);
      await owner.getByRole('button', { name: 'Send invitation' }).click();
      await owner.locator('#status', { hasText: `Invitation mailed to ${email}` }).waitFor();
    }
    await owner.locator('[data-testid="members-table"]', { hasText: 'money@browser.test' }).waitFor();
    await screenshot(owner, 'members-owner');

    const dev = await acceptInvitation('dev@browser.test');
    expect(await dev.locator('[data-testid="viewer-role"]').textContent()).toBe('developer');
    const devNav = await navLinks(dev);
    expect(devNav).toContain('/dashboard/keys');
    expect(devNav).toContain('/dashboard/playground');
    expect(devNav).not.toContain('/dashboard/billing');
    expect(devNav).not.toContain('/dashboard/members');
    expect(await dev.locator('[data-testid="balance"]').count()).toBe(0);
    const devInvoices = await dev.goto('/dashboard/billing');
    expect(devInvoices?.status()).toBe(403);
    await dev.locator('[data-testid="forbidden"]').waitFor();
    const devApi = await apiFromPage(dev, 'GET', '/admin/invoices');
    expect(devApi.status).toBe(403);
    expect(devApi.body.error).toMatchObject({ type: 'permission_error', code: 'permission_denied' });
    // The developer makes a key of their own on the keys page.
    await dev.goto('/dashboard/keys');
    await dev.getByLabel('Name').fill('dev laptop');
    await dev.getByRole('button', { name: 'Create key' }).click();
    await dev.locator('#new-key-panel [data-testid="secret-value"]', { hasText: 'sk-simo-' }).waitFor();
    await screenshot(dev, 'members-developer-keys');

    const billing = await acceptInvitation('money@browser.test');
    expect(await billing.locator('[data-testid="viewer-role"]').textContent()).toBe('billing');
    const billingNav = await navLinks(billing);
    expect(billingNav).toContain('/dashboard/billing');
    expect(billingNav).not.toContain('/dashboard/keys');
    const keysPage = await billing.goto('/dashboard/keys');
    expect(keysPage?.status()).toBe(403);
    const create = await apiFromPage(billing, 'POST', '/admin/keys');
    expect(create.status).toBe(403);
    expect(create.body.error).toMatchObject({ type: 'permission_error', code: 'permission_denied' });
    expect((await billing.goto('/dashboard/billing'))?.status()).toBe(200);
    await screenshot(billing, 'members-billing');

    // The owner sees both as members now.
    await owner.goto('/dashboard/members');
    const table = (await owner.locator('[data-testid="members-table"]').textContent()) ?? '';
    expect(table).toContain('dev@browser.test');
    expect(table).not.toContain('invited');
  });
});
