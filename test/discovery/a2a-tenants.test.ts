import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type SignedUp, startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Tasks are kept per tenant: another tenant's traffic, however heavy, never evicts a tenant's tasks;
 * only its own does (a tenant keeps its 1,000 most recent tasks).
 */
let g: TestGateway;
let quiet: SignedUp;
let busy: SignedUp;
beforeAll(async () => {
  g = await startTestGateway({ config: { plans: { starter: { rpm: 1_000_000 } } } });
  quiet = await g.signUp();
  busy = await g.signUp();
});
afterAll(() => g?.stop());

/** Streams one message (v0.3 JSON-RPC), which creates a task; returns its id. */
async function streamTask(key: string): Promise<string> {
  const res = await fetch(`${g.url}/a2a`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      accept: 'text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'message/stream',
      params: {
        message: {
          kind: 'message',
          messageId: randomUUID(),
          role: 'user',
          parts: [{ kind: 'text', text: 'Hi' }],
        },
      },
    }),
  });
  const first = (await res.text()).split('\n\n').find((e) => e.startsWith('data: '));
  return (JSON.parse(first!.slice(6)) as { result: { id: string } }).result.id;
}

async function getTask(
  key: string,
  id: string,
): Promise<{ result?: { id: string }; error?: { code: number } }> {
  const res = await fetch(`${g.url}/a2a`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tasks/get', params: { id } }),
  });
  return (await res.json()) as { result?: { id: string }; error?: { code: number } };
}

it("keeps a tenant's tasks however many another tenant creates", async () => {
  const mine = await streamTask(quiet.apiKey);
  expect((await getTask(quiet.apiKey, mine)).result?.id).toBe(mine);
  // Another tenant creates more tasks than a tenant may keep: its first alone, then 999 in parallel
  // batches, then its last.
  const theirs = [await streamTask(busy.apiKey)];
  for (let batch = 0; batch < 999; batch += 37)
    theirs.push(...(await Promise.all(Array.from({ length: 37 }, () => streamTask(busy.apiKey)))));
  theirs.push(await streamTask(busy.apiKey));
  expect(theirs).toHaveLength(1001);
  expect((await getTask(quiet.apiKey, mine)).result?.id).toBe(mine);
  // The busy tenant's own oldest task made room for its newest; neither tenant sees the other's.
  expect((await getTask(busy.apiKey, theirs[0]!)).error?.code).toBe(-32001);
  expect((await getTask(busy.apiKey, theirs.at(-1)!)).result?.id).toBe(theirs.at(-1));
  expect((await getTask(busy.apiKey, mine)).error?.code).toBe(-32001);
}, 120_000);
