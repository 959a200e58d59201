/** A real webhook receiver (node:http on 127.0.0.1) and helpers for the webhook tests. */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type EventType, enqueueEvent } from '../../src/events/outbox.js';
import type { TestGateway } from '../support/gateway.js';

export interface ReceivedHook {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** What the receiver answers next: a status, optionally after a delay (to provoke timeouts). */
export interface Reply {
  status: number;
  delayMs?: number;
}

export interface Receiver {
  url: string;
  received: ReceivedHook[];
  /** Queues replies for the next requests; afterwards it answers `fallback`. */
  reply(...replies: Reply[]): void;
  fallback: Reply;
  stop(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const queue: Reply[] = [];
  const receiver: Receiver = {
    url: '',
    received: [],
    fallback: { status: 200 },
    reply: (...r) => queue.push(...r),
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      receiver.received.push({
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      const r = queue.shift() ?? receiver.fallback;
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(r.status, { 'content-type': 'text/plain' }).end(`reply ${r.status}`);
      };
      if (r.delayMs) setTimeout(send, r.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
}

/** Polls until `check` returns a truthy value (bounded). */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 8_000,
  what = 'condition',
): Promise<Exclude<T, false | 0 | '' | null | undefined>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as Exclude<T, false | 0 | '' | null | undefined>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Writes an event to the outbox the way other modules do (in a transaction). */
export async function enqueue(
  gw: TestGateway,
  tenantId: string,
  type: EventType,
  data: Record<string, unknown> = {},
) {
  return gw.server.container.database.db
    .transaction()
    .execute((trx) => enqueueEvent(trx, tenantId, type, data));
}

/** A JSON API call with a tenant key. */
export async function api(
  gw: TestGateway,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> & { data?: Array<Record<string, unknown>> } }> {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

/** The plain check of the seed signature: hex HMAC-SHA256 of the raw body keyed with the secret string. */
export function seedSignatureOk(hook: ReceivedHook, secret: string): boolean {
  const expected = `sha256=${createHmac('sha256', secret).update(hook.body).digest('hex')}`;
  return hook.headers['x-simo-signature'] === expected;
}

/**
 * Gateway config with fast retries for tests (receivers are on 127.0.0.1), and a rate limit the
 * polling of the delivery log never reaches.
 */
export const fastWebhooks = {
  plans: { starter: { rpm: 100_000 } },
  webhooks: {
    allowPrivate: true,
    retryBaseMs: 150,
    retryFactor: 2,
    retryMaxDelayMs: 1_000,
    pollIntervalMs: 40,
    timeoutMs: 600,
    leaseMs: 3_000,
    disableAfterFailures: 4,
    disableAfterMs: 0,
  },
};
