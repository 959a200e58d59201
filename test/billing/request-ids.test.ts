import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignedUp } from '../support/gateway.js';
import { type BillingRig, call, chatBody, eventually, startBillingRig } from './billing-harness.js';

// Usage records and their ledger debits are keyed by request id: ids that sort by time make every
// insert an append to the unique indexes, so writing usage costs the same on a big table as on an empty one.
describe('request ids', () => {
  let rig: BillingRig;
  let tenant: SignedUp;

  beforeAll(async () => {
    rig = await startBillingRig('sqlite');
    tenant = await rig.gw.signUp();
  });
  afterAll(async () => rig?.stop());

  it('are req_ and 22 base62 characters, and sort in the order the requests came in', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await call(`${rig.gw.v1}/chat/completions`, tenant.apiKey, {
        body: chatBody('qwen/qwen3-8b', 'hi'),
      });
      expect(res.status).toBe(200);
      await res.text();
      ids.push(res.headers.get('x-request-id') ?? '');
      // Ids of one millisecond are random among themselves; requests further apart are ordered.
      await new Promise((r) => setTimeout(r, 3));
    }
    for (const id of ids) expect(id).toMatch(/^req_[0-9A-Za-z]{22}$/);
    expect([...ids].sort()).toEqual(ids);

    const keys = await eventually(async () => {
      const rows = await rig.db
        .selectFrom('credit_ledger')
        .select('idempotency_key')
        .where('tenant_id', '=', tenant.tenantId)
        .where('kind', '=', 'usage')
        .orderBy('idempotency_key')
        .execute();
      return rows.length === ids.length ? rows.map((r) => r.idempotency_key) : undefined;
    });
    expect(keys).toEqual(ids.map((id) => `usage:${id}`));
  });
});
