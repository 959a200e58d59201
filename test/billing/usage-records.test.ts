/**
 * `GET /admin/usage/records` and `GET /operator/tenants/{id}/usage/records` from the outside: newest
 * first, paged by request id within the tenant only, and bad paging answered with a 400 in the
 * OpenAI shape.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignedUp } from '../support/gateway.js';
import { ADMIN_TOKEN, type BillingRig, call, chatBody, startBillingRig } from './billing-harness.js';

let rig: BillingRig;
let a: SignedUp;
let b: SignedUp;
const aIds: string[] = [];
let bId = '';

async function chat(tenant: SignedUp): Promise<string> {
  await rig.upstream.control('words:3', 1);
  const res = await call(`${rig.gw.v1}/chat/completions`, tenant.apiKey, {
    body: chatBody('qwen/qwen3-8b', 'Say hi'),
  });
  expect(res.status).toBe(200);
  await res.text();
  return res.headers.get('x-request-id')!;
}

interface Listing {
  data: Array<{ request_id: string }>;
  has_more: boolean;
}
const list = async (url: string, token: string) => {
  const res = await call(url, token);
  return { status: res.status, body: (await res.json()) as Listing & { error?: Record<string, unknown> } };
};

beforeAll(async () => {
  rig = await startBillingRig('sqlite');
  a = await rig.gw.signUp();
  b = await rig.gw.signUp();
  for (let i = 0; i < 3; i++) {
    aIds.push(await chat(a));
    rig.clock.moveTo(rig.clock.now() + 1000);
  }
  bId = await chat(b);
});
afterAll(async () => rig?.stop());

describe('usage records', () => {
  it('pages newest first with before and has_more, for the tenant and the operator alike', async () => {
    const first = await list(`${rig.gw.url}/admin/usage/records?limit=2`, a.apiKey);
    expect(first.status).toBe(200);
    expect(first.body.data.map((r) => r.request_id)).toEqual([aIds[2], aIds[1]]);
    expect(first.body.has_more).toBe(true);
    const next = await list(`${rig.gw.url}/admin/usage/records?limit=2&before=${aIds[1]}`, a.apiKey);
    expect(next.body.data.map((r) => r.request_id)).toEqual([aIds[0]]);
    expect(next.body.has_more).toBe(false);
    const op = await list(
      `${rig.gw.url}/operator/tenants/${a.tenantId}/usage/records?limit=2&before=${aIds[1]}`,
      ADMIN_TOKEN,
    );
    expect(op.body).toEqual(next.body);
  });

  it("refuses another tenant's request id, an unknown one and a bad limit with a 400", async () => {
    const bad = [
      `/admin/usage/records?before=${bId}`,
      '/admin/usage/records?before=req_unknown',
      '/admin/usage/records?limit=0',
      '/admin/usage/records?limit=101',
      '/admin/usage/records?limit=abc',
      '/admin/usage/records?limit=1.5',
      `/admin/usage/records?before=${'x'.repeat(200)}`,
    ];
    for (const path of bad) {
      const res = await list(`${rig.gw.url}${path}`, a.apiKey);
      expect(res.status, path).toBe(400);
      expect(res.body.error, path).toMatchObject({ type: 'invalid_request_error' });
      expect(JSON.stringify(res.body), path).not.toContain(bId.slice(4));
    }
    const cross = await list(
      `${rig.gw.url}/operator/tenants/${a.tenantId}/usage/records?before=${bId}`,
      ADMIN_TOKEN,
    );
    expect(cross.status).toBe(400);
  });

  it('answers 404 for an operator asking about a tenant that does not exist', async () => {
    const res = await list(`${rig.gw.url}/operator/tenants/ten_missing/usage/records`, ADMIN_TOKEN);
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error' });
  });
});
