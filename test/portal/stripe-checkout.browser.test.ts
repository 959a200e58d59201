/**
 * Buying credits in a real Chromium: a billing member picks $20 on the credits page, is sent to the
 * (fake) Stripe Checkout page, the test delivers `checkout.session.completed` signed by the SDK's
 * helper, and the dashboard shows the new balance. The same event again, and ten times at once,
 * grants nothing more.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { type FakeStripe, startFakeStripe, stripeEnv } from '../support/fake-stripe.js';
import { signUpAt, startTestGatewayAt, type TestGateway } from '../support/gateway.js';
import { describeWith } from '../support/services.js';
import { collectPageErrors, launchChromium, screenshot } from './browser-support.js';

vi.setConfig({ testTimeout: 60_000 });

await describeWith('browser', 'buying credits with Stripe Checkout in Chromium', () => {
  let fake: FakeStripe;
  let gw: TestGateway;
  let browser: Browser;
  let base = '';

  beforeAll(async () => {
    fake = await startFakeStripe();
    gw = await startTestGatewayAt((_port, url) => ({
      env: { SIMO_PUBLIC_URL: url, ...stripeEnv(fake) },
      config: { signup: { plan: 'starter', trialCredits: 0 } },
    }));
    base = gw.url;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await fake?.close();
  });

  const deliver = (payload: string) =>
    fetch(`${base}/stripe/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': fake.sign(payload) },
      body: payload,
    });

  it('a billing member tops up $20 and sees it once, however often Stripe delivers the event', async () => {
    const owner = await signUpAt(gw.url);
    const email = 'payer@browser.test';
    const invite = await fetch(`${base}/admin/members/invite`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email, role: 'billing' }),
    });
    expect(invite.status).toBe(201);
    const mail = await gw.server.container.database.db
      .selectFrom('mail_outbox')
      .select('body')
      .where('recipient', '=', email)
      .executeTakeFirstOrThrow();
    const token = /\/invite\/([A-Za-z0-9_-]{43})/.exec(mail.body)?.[1];

    const context = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`/invite/${token}`);
    await page.getByLabel('Choose a password').fill('a long and careful passphrase');
    await Promise.all([
      page.waitForURL('**/dashboard'),
      page.getByRole('button', { name: 'Create login and join' }).click(),
    ]);
    await page.goto('/dashboard/billing');
    expect((await page.locator('[data-testid="billing-balance"]').textContent())?.trim()).toBe('$0.00');
    await page.getByLabel('$20.00').check();
    await screenshot(page, 'billing-top-up');
    await Promise.all([
      page.waitForURL(`${fake.url}/checkout/**`),
      page.getByRole('button', { name: 'Continue to payment' }).click(),
    ]);
    await page.locator('[data-testid="fake-checkout"]').waitFor();
    expect(await page.locator('[data-testid="fake-amount"]').textContent()).toBe('2000 usd');

    // The customer pays; Stripe calls the webhook and sends the browser back to the success URL.
    const sessionId = page.url().split('/').pop()!;
    const session = fake.sessions.get(sessionId)!;
    expect(session.success_url).toBe(`${base}/dashboard/billing?payment=success`);
    const payload = JSON.stringify(fake.completeSession(sessionId));
    expect((await deliver(payload)).status).toBe(200);
    await page.goto(session.success_url as string);
    await page.locator('[data-testid="payment-notice"]').waitFor();
    expect((await page.locator('[data-testid="billing-balance"]').textContent())?.trim()).toBe('$20.00');
    await page.locator('[data-testid="payments-table"]', { hasText: 'paid' }).waitFor();

    // Stripe delivers again, and ten times at once: nothing more is granted.
    expect((await deliver(payload)).status).toBe(200);
    const burst = await Promise.all(Array.from({ length: 10 }, () => deliver(payload)));
    expect(burst.map((r) => r.status)).toEqual(Array(10).fill(200));
    await page.goto('/dashboard');
    expect((await page.locator('[data-testid="balance"]').textContent())?.trim()).toBe('$20.00');
    await page.goto('/dashboard/billing');
    expect((await page.locator('[data-testid="billing-balance"]').textContent())?.trim()).toBe('$20.00');
    await screenshot(page, 'billing-after-top-up');
    expect(errors).toEqual([]);
    await context.close();
  });
});
