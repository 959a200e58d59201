/**
 * A dashboard page view resolves its session once: the pages read the services directly instead of
 * calling the `/admin/*` API (which would authenticate the session again for every section).
 */
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SessionService } from '../../src/accounts/sessions.js';
import { loginJson } from '../accounts/http.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/** Counts the queries run through a Kysely instance, and the ones that read the sessions table. */
class QueryCounter implements KyselyPlugin {
  queries = 0;
  sessionLookups = 0;

  transformQuery(args: PluginTransformQueryArgs) {
    this.queries++;
    const node = args.node;
    if (node.kind === 'SelectQueryNode' && JSON.stringify(node.from).includes('"name":"sessions"'))
      this.sessionLookups++;
    return node;
  }

  async transformResult(args: PluginTransformResultArgs) {
    return args.result;
  }

  reset(): void {
    this.queries = 0;
    this.sessionLookups = 0;
  }
}

let gw: TestGateway;
const counter = new QueryCounter();
let cookie = '';
let webhookId = '';

beforeAll(async () => {
  gw = await startTestGateway({ env: { SIMO_WEBHOOK_ALLOW_PRIVATE: 'true' } });
  const { container } = gw.server;
  // Every session the app resolves from now on goes through the counting query builder.
  container.sessions = new SessionService(container.database.db.withPlugin(counter));
  const user = await gw.signUp();
  ({ cookie } = await loginJson(gw.url, user.email, user.password));
  const hook = await fetch(`${gw.url}/admin/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${user.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', events: ['key.rotated'] }),
  });
  expect(hook.status).toBe(201);
  webhookId = ((await hook.json()) as { id: string }).id;
});
afterAll(async () => {
  await gw?.stop();
});

it('looks the session up once per dashboard page view', async () => {
  const pages = [
    '/dashboard',
    '/dashboard/keys',
    '/dashboard/usage',
    '/dashboard/billing',
    '/dashboard/webhooks',
    `/dashboard/webhooks/${webhookId}`,
    '/dashboard/audit',
    '/dashboard/playground',
  ];
  const lookups: Record<string, number> = {};
  for (const page of pages) {
    counter.reset();
    const res = await fetch(`${gw.url}${page}`, { headers: { cookie } });
    expect(res.status, page).toBe(200);
    await res.text();
    lookups[page] = counter.sessionLookups;
  }
  expect(lookups).toEqual(Object.fromEntries(pages.map((p) => [p, 1])));
});
