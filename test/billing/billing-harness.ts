/**
 * A gateway wired for billing tests: priced models served by a fake upstream process (one-route,
 * two-route fallback, and a non-Qwen model), a generous rate limit and an operator token.
 */

import type { ConfigInput } from '../../src/config/schema.js';
import type { Db } from '../../src/shared/db.js';
import type { TestDialect } from '../support/databases.js';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { movableClock, startTestGateway, type TestGateway } from '../support/gateway.js';

export const ADMIN_TOKEN = 'billing-test-operator-token';

/** USD per 1M tokens; micro-dollars per token. 3 prompt + 7 completion tokens cost 117.5 → 118 micros. */
export const QWEN_PRICE = { inputPerMTok: 3, outputPerMTok: 15.5 };
export const GPT_PRICE = { inputPerMTok: 1.25, outputPerMTok: 10 };

export function billingConfig(upstreamV1: string, overrides: Partial<ConfigInput> = {}): ConfigInput {
  return {
    adminToken: ADMIN_TOKEN,
    providers: [
      { id: 'fake', type: 'openai-compatible', baseUrl: upstreamV1 },
      { id: 'fake-b', type: 'openai-compatible', baseUrl: upstreamV1 },
    ],
    models: [
      { id: 'qwen/qwen3-8b', pricing: QWEN_PRICE, routes: [{ provider: 'fake' }] },
      { id: 'openai/gpt-oss-20b', pricing: GPT_PRICE, routes: [{ provider: 'fake' }] },
      {
        id: 'qwen/qwen3-fallback',
        pricing: QWEN_PRICE,
        routes: [
          { provider: 'fake', model: 'up-a' },
          { provider: 'fake-b', model: 'up-b' },
        ],
      },
    ],
    plans: { starter: { rpm: 1_000_000 } },
    signup: { plan: 'starter', trialCredits: 5 },
    usageThresholds: [0.5, 0.8, 1],
    ...overrides,
  };
}

export interface BillingRig {
  gw: TestGateway;
  /** The gateway's billing clock: move it past a month's end to close that month. */
  clock: ReturnType<typeof movableClock>;
  upstream: FakeUpstream;
  db: Db;
  stop(): Promise<void>;
}

/** `overrides` replace parts of the billing config, or a function turns the whole of it into another. */
export async function startBillingRig(
  dialect: TestDialect,
  overrides: Partial<ConfigInput> | ((base: ConfigInput, upstreamV1: string) => ConfigInput) = {},
): Promise<BillingRig> {
  const upstream = await startFakeUpstream();
  const config =
    typeof overrides === 'function'
      ? overrides(billingConfig(upstream.v1), upstream.v1)
      : billingConfig(upstream.v1, overrides);
  const clock = movableClock();
  const gw = await startTestGateway({ dialect, config, clock: clock.now });
  return {
    gw,
    clock,
    upstream,
    db: gw.server.container.database.db,
    async stop() {
      await gw.stop();
      await upstream.stop();
    },
  };
}

/** JSON over HTTP with a bearer token. */
export async function call(
  url: string,
  token: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Response> {
  return fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    ...(init.signal ? { signal: init.signal } : {}),
  });
}

export const chatBody = (model: string, content: string, extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: 'user', content }],
  ...extra,
});

/** Reads an SSE response to the end; returns the parsed data events (without [DONE]). */
export async function readSse(res: Response): Promise<Array<Record<string, unknown>>> {
  const text = await res.text();
  return text
    .split('\n\n')
    .map((e) => e.replace(/^data: /, '').trim())
    .filter((d) => d !== '' && d !== '[DONE]')
    .map((d) => JSON.parse(d) as Record<string, unknown>);
}

/** Polls until `check` returns a value other than undefined (bounded). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
