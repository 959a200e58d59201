import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { linkIn, type SmtpSink, startSmtpSink } from '../support/smtp-sink.js';
import { call, cookiePair, loginJson } from './http.js';

const PUBLIC_URL = 'http://simo.test';
const FORM_TOKEN = 'f'.repeat(43);
const formCookie = `simo_form_csrf=${FORM_TOKEN}`;
const pathOf = (link: string) => link.slice(PUBLIC_URL.length);

/** Mail through a real SMTP server: verification before trial credits, password reset and change. */
describe('email verification and passwords, over SMTP', () => {
  let gw: TestGateway;
  let smtp: SmtpSink;
  beforeAll(async () => {
    smtp = await startSmtpSink();
    // With SMTP configured, sign-ups wait for a verified address by default.
    gw = await startTestGateway({ env: { SIMO_SMTP_URL: smtp.url, SIMO_PUBLIC_URL: PUBLIC_URL } });
  });
  afterAll(async () => {
    await gw?.stop();
    await smtp?.close();
  });

  it('a new sign-up has 0 credits until the mailed link is opened, then the trial credits, once', async () => {
    const signedUp = await gw.signUp('verify@mail.test');
    const res = await call(gw.url, 'GET', '/admin/balance', { key: signedUp.apiKey });
    expect(res.body.balance).toBe('0.000000');
    const mail = await smtp.next('verify@mail.test', /Verify/);
    expect(mail.headers['content-type']).toMatch(/^text\/plain/);
    expect(mail.headers.from).toContain('support@example.com');
    const link = linkIn(mail, `${PUBLIC_URL}/verify-email?token=`);
    // Exactly one link in the mail, absolute, under the public URL.
    expect(mail.text.match(/https?:\/\/\S+/g)).toEqual([link]);
    const opened = await call(gw.url, 'GET', pathOf(link));
    expect(opened.status).toBe(200);
    expect(String(opened.body)).toContain('verified');
    const after = await call(gw.url, 'GET', '/admin/balance', { key: signedUp.apiKey });
    expect(after.body.balance).toBe('5.000000');
    // A second opening neither fails loudly nor grants again.
    expect((await call(gw.url, 'GET', pathOf(link))).status).toBe(410);
    expect((await call(gw.url, 'GET', '/admin/balance', { key: signedUp.apiKey })).body.balance).toBe(
      '5.000000',
    );
    const audit = await call(gw.url, 'GET', '/admin/audit', { key: signedUp.apiKey });
    expect(audit.body.data.map((e: { action: string }) => e.action)).toContain('account.email_verified');
  });

  it('password reset by mail works once; the old password and every session stop working', async () => {
    const user = await gw.signUp('reset@mail.test');
    const first = await loginJson(gw.url, user.email, user.password);
    const second = await loginJson(gw.url, user.email, user.password);
    const login = await call(gw.url, 'GET', '/login');
    expect(String(login.body)).toContain('href="/forgot-password"');
    const asked = await call(gw.url, 'POST', '/forgot-password', {
      cookie: formCookie,
      form: { email: user.email, _csrf: FORM_TOKEN },
    });
    expect(asked.status).toBe(303);
    expect(asked.headers.get('location')).toBe('/login?notice=reset_sent');
    // Unknown addresses get the same answer, and no mail.
    const unknown = await call(gw.url, 'POST', '/forgot-password', { json: { email: 'nobody@mail.test' } });
    expect(unknown.status).toBe(202);
    const mail = await smtp.next(user.email, /Reset/);
    const link = linkIn(mail, `${PUBLIC_URL}/reset-password?token=`);
    expect((await call(gw.url, 'GET', pathOf(link))).status).toBe(200);
    const token = new URL(link).searchParams.get('token')!;
    const reset = await call(gw.url, 'POST', '/reset-password', {
      json: { token, password: 'a brand new password' },
    });
    expect(reset.status).toBe(200);
    for (const s of [first, second]) expect((await call(gw.url, 'GET', '/admin/usage', s)).status).toBe(401);
    const old = await call(gw.url, 'POST', '/login', {
      json: { email: user.email, password: user.password },
    });
    expect(old.status).toBe(401);
    await loginJson(gw.url, user.email, 'a brand new password');
    const again = await call(gw.url, 'POST', '/reset-password', {
      json: { token, password: 'yet another password' },
    });
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe('invalid_token');
    expect((await call(gw.url, 'GET', pathOf(link))).status).toBe(410);
    expect(smtp.messages.some((m) => m.to.includes('nobody@mail.test'))).toBe(false);
  });

  it('changing the password ends the other sessions and needs the current one', async () => {
    const user = await gw.signUp('change@mail.test');
    const here = await loginJson(gw.url, user.email, user.password);
    const elsewhere = await loginJson(gw.url, user.email, user.password);
    const wrong = await call(gw.url, 'POST', '/account/password', {
      ...here,
      json: { current_password: 'not it at all', new_password: 'a changed password' },
    });
    expect(wrong.status).toBe(401);
    const changed = await call(gw.url, 'POST', '/account/password', {
      ...here,
      json: { current_password: user.password, new_password: 'a changed password' },
    });
    expect(changed.status).toBe(200);
    expect((await call(gw.url, 'GET', '/admin/usage', here)).status).toBe(200);
    expect((await call(gw.url, 'GET', '/admin/usage', elsewhere)).status).toBe(401);
    const form = await call(gw.url, 'POST', '/account/password', {
      cookie: here.cookie,
      form: { _csrf: here.csrf, current_password: 'wrong one', new_password: 'whatever long' },
    });
    expect(form.status).toBe(303);
    expect(form.headers.get('location')).toBe('/dashboard/account?error=wrong_password');
  });

  it('the form sign-up says the credits wait for verification', async () => {
    const page = await call(gw.url, 'GET', '/register');
    expect(String(page.body)).toContain('once you verify your email address');
    const res = await call(gw.url, 'POST', '/register', {
      cookie: formCookie,
      form: { email: 'form-verify@mail.test', password: 'a long enough password', _csrf: FORM_TOKEN },
    });
    expect(res.status).toBe(303);
    expect(cookiePair(res.cookies, 'simo_session')).toBeDefined();
    await smtp.next('form-verify@mail.test', /Verify/);
  });
});

describe('mail without SMTP', () => {
  let gw: TestGateway;
  const logs: string[] = [];
  beforeAll(async () => {
    gw = await startTestGateway({
      env: { SIMO_ADMIN_TOKEN: 'operator-token-of-the-mail-test' },
      logLevel: 'info',
      logStream: { write: (line: string) => logs.push(line) },
    });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('sign-up grants the trial at once; mails go to the log and the operator outbox', async () => {
    const user = await gw.signUp('outbox@mail.test');
    expect((await call(gw.url, 'GET', '/admin/balance', { key: user.apiKey })).body.balance).toBe('5.000000');
    await call(gw.url, 'POST', '/forgot-password', { json: { email: user.email } });
    const auth = { authorization: 'Bearer operator-token-of-the-mail-test' };
    const outbox = await call(gw.url, 'GET', '/operator/outbox', { headers: auth });
    expect(outbox.status).toBe(200);
    expect(outbox.body.data[0]).toMatchObject({ to: user.email, subject: expect.stringMatching(/Reset/) });
    expect(outbox.body.data[0].text).toContain('/reset-password?token=');
    expect(logs.some((l) => l.includes('mail (no SMTP configured)'))).toBe(true);
    expect((await call(gw.url, 'GET', '/operator/outbox')).status).toBe(401);
    expect((await call(gw.url, 'GET', '/operator/outbox', { key: user.apiKey })).status).toBe(401);
  });
});
