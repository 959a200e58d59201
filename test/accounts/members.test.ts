import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { can, permissionForRoute, ROLES, type Role } from '../../src/accounts/roles.js';
import { type SignedUp, startTestGateway, type TestGateway } from '../support/gateway.js';
import { linkIn, type SmtpSink, startSmtpSink } from '../support/smtp-sink.js';
import { type CallOptions, call, cookiePair, loginJson } from './http.js';

const PUBLIC_URL = 'http://simo.test';
const ADMIN_TOKEN = 'operator-token-of-the-members-test';

interface Session {
  cookie: string;
  csrf: string;
}

/** Organizations with members: invites by mail, roles enforced on every /admin route and page. */
describe('organizations, members and roles', () => {
  let gw: TestGateway;
  let smtp: SmtpSink;
  let owner: SignedUp;
  const sessions = {} as Record<Role, Session>;
  const userIds = {} as Record<Role, string>;
  const as = (role: Role, extra: CallOptions = {}): CallOptions => ({ ...sessions[role], ...extra });

  /** The path of the link in the next invitation mailed to `email`. */
  async function invitationPath(email: string): Promise<string> {
    const mail = await smtp.next(email, /invited/);
    expect(mail.headers['content-type']).toMatch(/^text\/plain/);
    return linkIn(mail, `${PUBLIC_URL}/invite/`).slice(PUBLIC_URL.length);
  }

  /** Invites `email` as `role` with the owner's session and accepts by creating a login. */
  async function join(email: string, role: Role): Promise<{ session: Session; userId: string }> {
    const invited = await call(
      gw.url,
      'POST',
      '/admin/members/invite',
      as('owner', { json: { email, role } }),
    );
    expect(invited.status).toBe(201);
    expect(invited.body).toMatchObject({
      email,
      role,
      status: 'invited',
      id: expect.stringMatching(/^inv_/),
    });
    const path = await invitationPath(email);
    const page = await call(gw.url, 'GET', path);
    expect(page.status).toBe(200);
    expect(String(page.body)).toContain(role);
    const joined = await call(gw.url, 'POST', path, { json: { password: 'a long enough password' } });
    expect(joined.status).toBe(201);
    expect(joined.body).toMatchObject({ tenant_id: owner.tenantId, role });
    return {
      session: { cookie: cookiePair(joined.cookies, 'simo_session')!, csrf: joined.body.csrf_token },
      userId: joined.body.user_id,
    };
  }

  beforeAll(async () => {
    smtp = await startSmtpSink();
    gw = await startTestGateway({
      env: { SIMO_SMTP_URL: smtp.url, SIMO_PUBLIC_URL: PUBLIC_URL, SIMO_ADMIN_TOKEN: ADMIN_TOKEN },
      config: { signup: { plan: 'professional', requireVerifiedEmail: false } },
    });
    owner = await gw.signUp('owner@members.test');
    sessions.owner = await loginJson(gw.url, owner.email, owner.password);
    for (const role of ['admin', 'developer', 'billing'] as const) {
      const joined = await join(`${role}@members.test`, role);
      sessions[role] = joined.session;
      userIds[role] = joined.userId;
    }
  });
  afterAll(async () => {
    await gw?.stop();
    await smtp?.close();
  });

  it('lists members with their roles; the audit log has every invite and join', async () => {
    const list = await call(gw.url, 'GET', '/admin/members', as('owner'));
    expect(list.status).toBe(200);
    const byEmail = Object.fromEntries(
      list.body.data.map((m: { email: string; role: string }) => [m.email, m.role]),
    );
    expect(byEmail).toEqual({
      'owner@members.test': 'owner',
      'admin@members.test': 'admin',
      'developer@members.test': 'developer',
      'billing@members.test': 'billing',
    });
    const audit = await call(gw.url, 'GET', '/admin/audit?limit=100', as('owner'));
    const actions = audit.body.data.map((e: { action: string }) => e.action);
    expect(actions.filter((a: string) => a === 'member.invited')).toHaveLength(3);
    expect(actions.filter((a: string) => a === 'member.joined')).toHaveLength(3);
  });

  it('a developer manages only their own keys, sees usage, not invoices, balance or members', async () => {
    const created = await call(gw.url, 'POST', '/admin/keys', as('developer', { json: { name: 'dev key' } }));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ role: 'developer', created_by: userIds.developer });
    const keys = await call(gw.url, 'GET', '/admin/keys', as('developer'));
    expect(keys.body.data.map((k: { id: string }) => k.id)).toEqual([created.body.id]);
    // The owner's sign-up key is not theirs to revoke: it looks unknown.
    const revoke = await call(gw.url, 'DELETE', `/admin/keys/${owner.keyId}`, as('developer'));
    expect(revoke.status).toBe(404);
    expect((await call(gw.url, 'GET', '/admin/usage', as('developer'))).status).toBe(200);
    for (const path of [
      '/admin/invoices',
      '/admin/balance',
      '/admin/members',
      '/admin/audit',
      '/admin/webhooks',
    ]) {
      const res = await call(gw.url, 'GET', path, as('developer'));
      expect(res.status, path).toBe(403);
      expect(res.body.error).toMatchObject({
        type: 'permission_error',
        code: 'permission_denied',
        param: null,
      });
    }
    // Their key acts with their role: inference works, invoices do not.
    const devKey = created.body.api_key as string;
    expect((await call(gw.url, 'GET', '/v1/models', { key: devKey })).status).toBe(200);
    const invoices = await call(gw.url, 'GET', '/admin/invoices', { key: devKey });
    expect(invoices.status).toBe(403);
    expect(invoices.body.error.code).toBe('permission_denied');
  });

  it("an admin cannot rotate an owner's key to get an owner key of its own", async () => {
    const rotate = await call(
      gw.url,
      'POST',
      '/admin/keys/rotate',
      as('admin', { json: { key_id: owner.keyId } }),
    );
    expect(rotate.status).toBe(403);
    expect(rotate.body.error).toMatchObject({ code: 'permission_denied', param: 'key_id' });
    expect(rotate.body.api_key).toBeUndefined();
    // The owner's key still works; the admin may still revoke keys (that hands out nothing).
    expect((await call(gw.url, 'GET', '/admin/members', { key: owner.apiKey })).status).toBe(200);
    const adminKey = await call(gw.url, 'POST', '/admin/keys', as('admin', { json: { name: 'admin own' } }));
    const own = await call(
      gw.url,
      'POST',
      '/admin/keys/rotate',
      as('admin', { json: { key_id: adminKey.body.id } }),
    );
    expect(own.status).toBe(200);
    expect(own.body.role).toBe('admin');
  });

  it('a billing member sees credits and invoices and cannot create or list keys', async () => {
    for (const path of ['/admin/invoices', '/admin/balance', '/admin/usage'])
      expect((await call(gw.url, 'GET', path, as('billing'))).status, path).toBe(200);
    const create = await call(gw.url, 'POST', '/admin/keys', as('billing', { json: { name: 'nope' } }));
    expect(create.status).toBe(403);
    expect(create.body.error).toMatchObject({ type: 'permission_error', code: 'permission_denied' });
    expect((await call(gw.url, 'GET', '/admin/keys', as('billing'))).status).toBe(403);
  });

  it('dashboard pages follow the role: navigation shows only what it allows, other pages answer 403', async () => {
    const page = async (role: Role, path: string) =>
      call(gw.url, 'GET', path, { cookie: sessions[role].cookie });
    const billingHome = await page('billing', '/dashboard');
    expect(billingHome.status).toBe(200);
    expect(String(billingHome.body)).not.toContain('href="/dashboard/keys"');
    expect(String(billingHome.body)).toContain('href="/dashboard/billing"');
    expect((await page('billing', '/dashboard/keys')).status).toBe(403);
    expect((await page('billing', '/dashboard/playground')).status).toBe(403);
    const devHome = await page('developer', '/dashboard');
    expect(String(devHome.body)).not.toContain('href="/dashboard/billing"');
    expect(String(devHome.body)).not.toContain('data-testid="balance"');
    expect((await page('developer', '/dashboard/billing')).status).toBe(403);
    expect((await page('developer', '/dashboard/members')).status).toBe(403);
    expect((await page('developer', '/dashboard/keys')).status).toBe(200);
    expect((await page('admin', '/dashboard/members')).status).toBe(200);
    const members = await page('owner', '/dashboard/members');
    expect(String(members.body)).toContain('developer@members.test');
  });

  it('every /admin route enforces the role table for every role (403 exactly when not allowed)', async () => {
    const doc = (await call(gw.url, 'GET', '/openapi.json')).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const routes = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/admin/'))
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => ({ method: method.toUpperCase(), path })));
    expect(routes.length).toBeGreaterThan(15);
    for (const { method, path } of routes) {
      const pattern = path.replace(/\{([^}]+)\}/g, ':$1');
      // Unknown ids and empty bodies: allowed roles get 404/400, never a change that matters.
      const url = path.replace(/\{[^}]+\}/g, 'zz_unknown');
      for (const role of ROLES) {
        const allowed = can(role, permissionForRoute(method, pattern));
        const opts = method === 'GET' ? as(role) : as(role, { json: {} });
        const res = await call(gw.url, method, url, opts);
        if (allowed) expect(res.status, `${role} ${method} ${path}`).not.toBe(403);
        else {
          expect(res.status, `${role} ${method} ${path}`).toBe(403);
          expect(res.body.error.code).toBe('permission_denied');
        }
      }
    }
  });

  it('only owners make owners; the last owner stays; invite links work once', async () => {
    const byAdmin = await call(
      gw.url,
      'POST',
      '/admin/members/invite',
      as('admin', { json: { email: 'boss@members.test', role: 'owner' } }),
    );
    expect(byAdmin.status).toBe(403);
    const demote = await call(
      gw.url,
      'PATCH',
      `/admin/members/${owner.tenantId}`,
      as('owner', { json: { role: 'admin' } }),
    );
    expect(demote.status).toBe(404);
    const ownerId = (await call(gw.url, 'GET', '/admin/members', as('owner'))).body.data.find(
      (m: { role: string }) => m.role === 'owner',
    ).id;
    const last = await call(
      gw.url,
      'PATCH',
      `/admin/members/${ownerId}`,
      as('owner', { json: { role: 'admin' } }),
    );
    expect(last.status).toBe(409);
    // A used link is refused.
    await call(
      gw.url,
      'POST',
      '/admin/members/invite',
      as('owner', { json: { email: 'once@members.test', role: 'billing' } }),
    );
    const path = await invitationPath('once@members.test');
    expect((await call(gw.url, 'POST', path, { json: { password: 'a long enough password' } })).status).toBe(
      201,
    );
    const again = await call(gw.url, 'POST', path, { json: { password: 'a long enough password' } });
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe('invalid_token');
  });

  it('a role change applies to the live session and is audited', async () => {
    expect((await call(gw.url, 'GET', '/admin/members', as('developer'))).status).toBe(403);
    const changed = await call(
      gw.url,
      'PATCH',
      `/admin/members/${userIds.developer}`,
      as('owner', { json: { role: 'admin' } }),
    );
    expect(changed.status).toBe(200);
    expect(changed.body.role).toBe('admin');
    expect((await call(gw.url, 'GET', '/admin/members', as('developer'))).status).toBe(200);
    await call(
      gw.url,
      'PATCH',
      `/admin/members/${userIds.developer}`,
      as('owner', { json: { role: 'developer' } }),
    );
    const audit = await call(gw.url, 'GET', '/admin/audit?limit=100', as('owner'));
    const change = audit.body.data.find((e: { action: string }) => e.action === 'member.role_changed');
    expect(change).toMatchObject({ target: userIds.developer, detail: { from: 'admin', to: 'developer' } });
  });

  it("a demoted admin's own key loses the admin role and cannot give it back", async () => {
    const demoted = await join('demoted@members.test', 'admin');
    const made = await call(gw.url, 'POST', '/admin/keys', {
      ...demoted.session,
      json: { name: 'old admin key' },
    });
    expect(made.status).toBe(201);
    const key = made.body.api_key as string;
    // The key is cached by its first use, so the demotion must reach the cache too.
    expect((await call(gw.url, 'GET', '/admin/members', { key })).status).toBe(200);

    const changed = await call(
      gw.url,
      'PATCH',
      `/admin/members/${demoted.userId}`,
      as('owner', { json: { role: 'developer' } }),
    );
    expect(changed.body.role).toBe('developer');

    expect((await call(gw.url, 'GET', '/admin/members', { key })).status).toBe(403);
    const regain = await call(gw.url, 'PATCH', `/admin/members/${demoted.userId}`, {
      key,
      json: { role: 'admin' },
    });
    expect(regain.status).toBe(403);
    expect(regain.body.error.code).toBe('permission_denied');
    const list = await call(gw.url, 'GET', '/admin/members', as('owner'));
    expect(list.body.data.find((m: { id: string }) => m.id === demoted.userId).role).toBe('developer');
    const keys = await call(gw.url, 'GET', '/admin/keys', as('owner'));
    expect(keys.body.data.find((k: { id: string }) => k.id === made.body.id).role).toBe('developer');
  });

  it('removing a member ends their sessions at once; the keys they created keep working', async () => {
    const key = await call(gw.url, 'POST', '/admin/keys', as('billing', { json: {} }));
    expect(key.status).toBe(403);
    const devKey = await call(gw.url, 'POST', '/admin/keys', as('developer', { json: { name: 'stays' } }));
    const removed = await call(gw.url, 'DELETE', `/admin/members/${userIds.developer}`, as('owner'));
    expect(removed.status).toBe(200);
    const after = await call(gw.url, 'GET', '/admin/usage', as('developer'));
    expect(after.status).toBe(401);
    expect((await call(gw.url, 'GET', '/v1/models', { key: devKey.body.api_key })).status).toBe(200);
    const keys = await call(gw.url, 'GET', '/admin/keys', as('owner'));
    expect(keys.body.data.find((k: { id: string }) => k.id === devKey.body.id)).toMatchObject({
      created_by: userIds.developer,
      status: 'active',
    });
    const audit = await call(gw.url, 'GET', '/admin/audit?limit=5', as('owner'));
    expect(audit.body.data[0]).toMatchObject({ action: 'member.removed', target: userIds.developer });
  });

  it("a removed admin's keys stay, acting as developer: they cannot invite their creator back", async () => {
    const leaving = await join('leaving@members.test', 'admin');
    const made = await call(gw.url, 'POST', '/admin/keys', { ...leaving.session, json: { name: 'ci' } });
    const key = made.body.api_key as string;
    // Cached by its first use: the removal must reach the cache too.
    expect((await call(gw.url, 'GET', '/admin/members', { key })).status).toBe(200);

    expect((await call(gw.url, 'DELETE', `/admin/members/${leaving.userId}`, as('owner'))).status).toBe(200);

    const reinvite = await call(gw.url, 'POST', '/admin/members/invite', {
      key,
      json: { email: 'leaving@members.test', role: 'admin' },
    });
    expect(reinvite.status).toBe(403);
    expect((await call(gw.url, 'GET', '/v1/models', { key })).status).toBe(200);
    const keys = await call(gw.url, 'GET', '/admin/keys', as('owner'));
    expect(keys.body.data.find((k: { id: string }) => k.id === made.body.id)).toMatchObject({
      role: 'developer',
      status: 'active',
      created_by: leaving.userId,
    });
  });

  it('two owners demoting each other at the same moment leave the organization one owner', async () => {
    const first = await gw.signUp('first-owner@members.test');
    const firstSession = await loginJson(gw.url, first.email, first.password);
    await call(gw.url, 'POST', '/admin/members/invite', {
      ...firstSession,
      json: { email: 'second-owner@members.test', role: 'owner' },
    });
    const path = await invitationPath('second-owner@members.test');
    const joined = await call(gw.url, 'POST', path, { json: { password: 'a long enough password' } });
    const second = {
      id: joined.body.user_id as string,
      session: { cookie: cookiePair(joined.cookies, 'simo_session')!, csrf: joined.body.csrf_token },
    };
    const members = await call(gw.url, 'GET', '/admin/members', firstSession);
    const firstId = members.body.data.find((m: { id: string }) => m.id !== second.id).id as string;
    const owners = async () =>
      (await call(gw.url, 'GET', '/admin/members', firstSession)).body.data.filter(
        (m: { role: string }) => m.role === 'owner',
      ).length;

    for (let round = 0; round < 5; round++) {
      const [a, b] = await Promise.all([
        call(gw.url, 'PATCH', `/admin/members/${second.id}`, { ...firstSession, json: { role: 'admin' } }),
        call(gw.url, 'PATCH', `/admin/members/${firstId}`, { ...second.session, json: { role: 'admin' } }),
      ]);
      const statuses = [a.status, b.status].sort();
      expect(statuses[0]).toBe(200);
      expect([403, 409]).toContain(statuses[1]);
      expect(await owners()).toBe(1);
      // The one left owner makes the other owner again for the next round.
      const [winner, loserId] = a.status === 200 ? [firstSession, second.id] : [second.session, firstId];
      const back = await call(gw.url, 'PATCH', `/admin/members/${loserId}`, {
        ...winner,
        json: { role: 'owner' },
      });
      expect(back.status).toBe(200);
    }
  });

  it('a person in two organizations accepts while signed in and switches between them', async () => {
    const other = await gw.signUp('other-owner@members.test');
    const otherSession = await loginJson(gw.url, other.email, other.password);
    await call(gw.url, 'POST', '/admin/members/invite', {
      ...otherSession,
      json: { email: 'billing@members.test', role: 'developer' },
    });
    const path = await invitationPath('billing@members.test');
    const page = await call(gw.url, 'GET', path, { cookie: sessions.billing.cookie });
    expect(String(page.body)).toContain(`${path}/accept`);
    const accepted = await call(gw.url, 'POST', `${path}/accept`, as('billing'));
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ tenant_id: other.tenantId, role: 'developer' });
    // The session now works in the other organization, as developer there.
    expect((await call(gw.url, 'GET', '/admin/invoices', as('billing'))).status).toBe(403);
    const back = await call(
      gw.url,
      'POST',
      '/dashboard/organization',
      as('billing', { json: { tenant_id: owner.tenantId } }),
    );
    expect(back.status).toBe(200);
    expect((await call(gw.url, 'GET', '/admin/invoices', as('billing'))).status).toBe(200);
    const account = await call(gw.url, 'GET', '/dashboard/account', { cookie: sessions.billing.cookie });
    expect(String(account.body)).toContain('other-owner@members.test');
    const foreign = await call(
      gw.url,
      'POST',
      '/dashboard/organization',
      as('developer', { json: { tenant_id: other.tenantId } }),
    );
    expect(foreign.status).toBe(401);
  });

  it('a tenant the operator creates gets its owner by an emailed invite', async () => {
    const created = await call(gw.url, 'POST', '/operator/tenants', {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      json: { email: 'ops-made@members.test' },
    });
    expect(created.status).toBe(201);
    const path = await invitationPath('ops-made@members.test');
    const joined = await call(gw.url, 'POST', path, { json: { password: 'a long enough password' } });
    expect(joined.status).toBe(201);
    expect(joined.body).toMatchObject({ tenant_id: created.body.tenant.id, role: 'owner' });
    const login = await loginJson(gw.url, 'ops-made@members.test', 'a long enough password');
    expect(login.body.tenant_id).toBe(created.body.tenant.id);
  });
});
