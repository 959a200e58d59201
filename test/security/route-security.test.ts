import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { can, permissionForRoute, ROLES, type Role } from '../../src/accounts/roles.js';
import type { DocumentedRoute } from '../../src/discovery/route-registry.js';
import { startTestApp, type TestApp } from '../support/app.js';

/**
 * The security of every route, generated from the route registry: whatever a new route declares
 * (`apiKey`, `tenant`, `session`, `operator`), it is held to the same refusals here without anyone
 * writing a test for it. In-process (`app.inject`): what is checked is the guard, not the socket.
 *
 * - `apiKey` and `tenant`: no key → 401; an unknown key → 401; a key without the route's scope → 403
 *   carrying the rate-limit headers (the request is counted first); a suspended tenant's key → 403.
 * - `tenant` with the dashboard cookie: a suspended tenant → 403; a state-changing call without the
 *   CSRF token → 403 `csrf_failed`; with it, the guard lets the call through, with rate-limit headers.
 * - `session`: a state-changing call with the cookie but without the CSRF token → 403 `csrf_failed`.
 * - `tenant`, per role: a member whose role the role table refuses gets 403 `permission_denied`; the
 *   others pass the guard.
 * - `operator`: no token, a wrong one, or a tenant's API key → 401.
 * - public routes never ask for credentials.
 * Every refusal is the documented error envelope: OpenAI's (all four keys), or Anthropic's on its surface.
 */
const ADMIN_TOKEN = 'operator-token-'.padEnd(48, 'x');
const RATE_LIMIT_HEADERS = ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'];

let t: TestApp;
let app: FastifyInstance;

interface Caller {
  fullKey: string;
  inferenceKey: string;
  adminKey: string;
  cookie: string;
  csrf: string;
}
let active: Caller;
let suspended: Caller;
/** Dashboard sessions of a member of each role in the active tenant (the owner is `active`). */
const members = {} as Record<Role, { cookie: string; csrf: string }>;

/** Invites `role` into the active tenant (the link read from the mail outbox) and signs them up. */
async function memberOf(role: Role): Promise<{ cookie: string; csrf: string }> {
  const email = `${role}-member@example.com`;
  await json({
    method: 'POST',
    url: '/admin/members/invite',
    headers: bearer(active.fullKey),
    payload: { email, role },
  });
  const mail = await t.container.database.db
    .selectFrom('mail_outbox')
    .select('body')
    .where('recipient', '=', email)
    .executeTakeFirstOrThrow();
  const token = /\/invite\/([A-Za-z0-9_-]{43})/.exec(mail.body)?.[1];
  const joined = await app.inject({
    method: 'POST',
    url: `/invite/${token}`,
    remoteAddress: '127.0.0.1',
    payload: { password: 'correct horse battery staple' },
  });
  expect(joined.statusCode, joined.body).toBe(201);
  const cookie = joined.cookies.find((c) => c.name === 'simo_session');
  return {
    cookie: `simo_session=${cookie?.value}`,
    csrf: (joined.json() as { csrf_token: string }).csrf_token,
  };
}

// Failed authentications count against the caller's address: each refused call gets its own.
let addresses = 0;
const freshAddress = () => `10.${(++addresses >> 16) & 255}.${(addresses >> 8) & 255}.${addresses & 255}`;

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** A concrete URL for a route pattern: `:id` → `x`, `*` → `x/y`. */
const concrete = (url: string) => url.replace(/:[A-Za-z_]+(\([^)]*\))?/g, 'x').replace(/\*$/, 'x/y');

const errorEnvelope = z.union([
  z.strictObject({
    error: z.strictObject({
      message: z.string(),
      type: z.string(),
      param: z.string().nullable(),
      code: z.string().nullable(),
    }),
  }),
  z.strictObject({
    type: z.literal('error'),
    error: z.strictObject({ type: z.string(), message: z.string() }),
    request_id: z.string(),
  }),
]);

async function call(
  route: DocumentedRoute,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  const options: InjectOptions = {
    method: route.method as InjectOptions['method'],
    url: concrete(route.url),
    remoteAddress: freshAddress(),
    headers,
  };
  if (STATE_CHANGING.has(route.method)) {
    options.headers = { 'content-type': 'application/json', ...headers };
    options.payload = '{}';
  }
  const res = await app.inject(options);
  if (res.statusCode >= 400) {
    const envelope = errorEnvelope.safeParse(res.json());
    expect(envelope.success, `${route.method} ${route.url} ${res.statusCode}: ${res.body}`).toBe(true);
  }
  return res;
}

/** The OpenAI error code, or the type of an Anthropic-shaped error. */
function errorCode(res: LightMyRequestResponse): string | undefined {
  const body = res.json() as { error?: { code?: string | null; type?: string } };
  return body.error?.code ?? body.error?.type ?? undefined;
}

async function json(options: InjectOptions) {
  const res = await app.inject({ remoteAddress: '127.0.0.1', ...options });
  expect(res.statusCode, `${options.method} ${options.url}: ${res.body}`).toBeLessThan(300);
  return res.json() as Record<string, unknown>;
}

/** A tenant with a key of each scope and a dashboard session, and a generous rate limit. */
async function newCaller(email: string): Promise<Caller> {
  const password = 'correct horse battery staple';
  const signedUp = await json({ method: 'POST', url: '/register', payload: { email, password } });
  const fullKey = signedUp.api_key as string;
  await json({
    method: 'PATCH',
    url: `/operator/tenants/${signedUp.tenant_id}`,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    payload: { rpm: 1_000_000 },
  });
  const keyWith = async (scope: string) =>
    (
      await json({
        method: 'POST',
        url: '/admin/keys',
        headers: { authorization: `Bearer ${fullKey}` },
        payload: { name: scope, scopes: [scope] },
      })
    ).api_key as string;
  const login = await app.inject({ method: 'POST', url: '/login', payload: { email, password } });
  expect(login.statusCode).toBe(200);
  const cookie = login.cookies.find((c) => c.name === 'simo_session');
  return {
    fullKey,
    inferenceKey: await keyWith('inference'),
    adminKey: await keyWith('admin'),
    cookie: `simo_session=${cookie?.value}`,
    csrf: (login.json() as { csrf_token: string }).csrf_token,
  };
}

beforeAll(async () => {
  t = await startTestApp({ env: { SIMO_ADMIN_TOKEN: ADMIN_TOKEN } });
  app = t.app;
  active = await newCaller('active@example.com');
  members.owner = { cookie: active.cookie, csrf: active.csrf };
  for (const role of ['admin', 'developer', 'billing'] as const) members[role] = await memberOf(role);
  suspended = await newCaller('suspended@example.com');
  const tenant = (await json({
    method: 'POST',
    url: '/login',
    payload: { email: 'suspended@example.com', password: 'correct horse battery staple' },
  })) as { tenant_id: string };
  await json({
    method: 'PATCH',
    url: `/operator/tenants/${tenant.tenant_id}`,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    payload: { suspended: true },
  });
});
afterAll(() => t?.close());

// Built at collection time from a throwaway app: the same registration code, so the same routes.
const routes = await (async () => {
  const probe = await startTestApp({ env: { SIMO_ADMIN_TOKEN: ADMIN_TOKEN } });
  const list = probe.app.routeRegistry.list().filter((r) => r.method !== 'HEAD');
  await probe.close();
  return list;
})();
const secured = (security: string) =>
  routes.filter((r) => r.doc?.security === security).map((r) => [`${r.method} ${r.url}`, r] as const);

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe.each(secured('apiKey'))('%s (API key)', (_name, route) => {
  it('refuses a missing or unknown key with 401', async () => {
    const missing = await call(route);
    expect(missing.statusCode, missing.body).toBe(401);
    const unknown = await call(route, bearer(`sk-simo-${'0'.repeat(40)}`));
    expect(unknown.statusCode, unknown.body).toBe(401);
  });

  it("refuses a key without the 'inference' scope with 403, counted (rate-limit headers set)", async () => {
    const res = await call(route, bearer(active.adminKey));
    expect(res.statusCode, res.body).toBe(403);
    expect(errorCode(res)).toMatch(/^(key_scope|permission_error)$/);
    for (const header of RATE_LIMIT_HEADERS) expect(res.headers[header], header).toBeDefined();
  });

  it("refuses a suspended tenant's key with 403", async () => {
    const res = await call(route, bearer(suspended.fullKey));
    expect(res.statusCode, res.body).toBe(403);
  });
});

describe.each(secured('tenant'))('%s (admin key or session)', (_name, route) => {
  it('refuses a missing or unknown key with 401', async () => {
    const missing = await call(route);
    expect(missing.statusCode, missing.body).toBe(401);
    expect(errorCode(missing)).toBe('missing_api_key');
    const unknown = await call(route, bearer(`sk-simo-${'0'.repeat(40)}`));
    expect(unknown.statusCode, unknown.body).toBe(401);
  });

  it("refuses a key without the 'admin' scope with 403, counted (rate-limit headers set)", async () => {
    const res = await call(route, bearer(active.inferenceKey));
    expect(res.statusCode, res.body).toBe(403);
    expect(errorCode(res)).toBe('key_scope');
    for (const header of RATE_LIMIT_HEADERS) expect(res.headers[header], header).toBeDefined();
  });

  it('refuses a suspended tenant, by key and by session, with 403', async () => {
    const byKey = await call(route, bearer(suspended.adminKey));
    expect(byKey.statusCode, byKey.body).toBe(403);
    expect(errorCode(byKey)).toBe('tenant_suspended');
    const bySession = await call(route, { cookie: suspended.cookie, 'x-csrf-token': suspended.csrf });
    expect(bySession.statusCode, bySession.body).toBe(403);
    expect(errorCode(bySession)).toBe('tenant_suspended');
  });

  it('lets a session through the guard, rate-limited; a state-changing call needs the CSRF token', async () => {
    if (STATE_CHANGING.has(route.method)) {
      const forged = await call(route, { cookie: active.cookie });
      expect(forged.statusCode, forged.body).toBe(403);
      expect(errorCode(forged)).toBe('csrf_failed');
    }
    const res = await call(route, { cookie: active.cookie, 'x-csrf-token': active.csrf });
    expect([401, 403], res.body).not.toContain(res.statusCode);
    for (const header of RATE_LIMIT_HEADERS) expect(res.headers[header], header).toBeDefined();
  });
});

describe.each(secured('tenant'))('%s (each role)', (_name, route) => {
  it('answers 403 permission_denied to exactly the roles the role table refuses', async () => {
    for (const role of ROLES) {
      const res = await call(route, { cookie: members[role].cookie, 'x-csrf-token': members[role].csrf });
      const refused = res.statusCode === 403 && errorCode(res) === 'permission_denied';
      expect(refused, `${role}: ${res.statusCode} ${res.body}`).toBe(
        !can(role, permissionForRoute(route.method, route.url)),
      );
    }
  });
});

const stateChanging = (list: ReturnType<typeof secured>) =>
  list.filter(([, route]) => STATE_CHANGING.has(route.method));

describe.each(stateChanging(secured('session')))('%s (session)', (_name, route) => {
  it('refuses the cookie without the CSRF token with 403', async () => {
    const res = await call(route, { cookie: active.cookie });
    expect(res.statusCode, res.body).toBe(403);
    expect(errorCode(res)).toBe('csrf_failed');
  });
});

describe.each(secured('operator'))('%s (operator token)', (_name, route) => {
  it("refuses no token, a wrong token and a tenant's API key with 401", async () => {
    for (const headers of [{}, bearer('not-the-operator-token'), bearer(active.fullKey)]) {
      const res = await call(route, headers);
      expect(res.statusCode, res.body).toBe(401);
      expect(errorCode(res)).toBe('invalid_admin_token');
    }
  });
});

describe('public routes', () => {
  it.each(secured('none').filter(([, r]) => !r.doc?.hidden))(
    '%s asks for no credentials',
    async (_n, route) => {
      const res = await call(route);
      expect([401, 403], res.body).not.toContain(res.statusCode);
    },
  );

  it('the suite covers every documented route', () => {
    const undeclared = routes.filter((r) => !r.doc).map((r) => `${r.method} ${r.url}`);
    expect(undeclared).toEqual([]);
    expect(secured('apiKey').length).toBeGreaterThan(3);
    expect(secured('tenant').length).toBeGreaterThan(10);
    expect(secured('operator').length).toBeGreaterThan(3);
  });
});
