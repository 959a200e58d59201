import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { Agent, request } from 'undici';
import {
  NOT_PUBLIC_TARGET,
  parseWebhookUrl,
  refusedAddressReason,
  TargetRefusedError,
} from './address-policy.js';
import type { AttemptOutcome } from './delivery-store.js';

const EXCERPT_BYTES = 1024;

/**
 * A DNS lookup for outgoing webhook connections that refuses non-public addresses. The socket
 * connects to exactly the addresses checked here, so a name that re-resolves to a private address
 * between the creation check and the send (DNS rebinding) is still refused.
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      // Not resolving and resolving to a private address read the same in the delivery log.
      const refused = () => callback(new TargetRefusedError(NOT_PUBLIC_TARGET), '', 0);
      if (err) return allowPrivate ? callback(err, '', 0) : refused();
      const list = Array.isArray(addresses) ? addresses : [];
      if (!allowPrivate && list.some((a) => refusedAddressReason(a.address))) return refused();
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      const first = list[0];
      if (!first)
        return allowPrivate ? callback(new Error(`'${hostname}' does not resolve`), '', 0) : refused();
      callback(null, first.address, first.family);
    });
  };
}

export interface SenderOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  userAgent?: string;
}

/** Sends one webhook attempt: a POST with a timeout, no redirects followed, a short response excerpt kept. */
export class WebhookSender {
  private readonly agent: Agent;

  constructor(private readonly opts: SenderOptions) {
    this.agent = new Agent({
      connect: { lookup: guardedLookup(opts.allowPrivate), timeout: opts.timeoutMs },
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      keepAliveTimeout: 4_000,
    });
  }

  async send(
    target: string,
    headers: Record<string, string>,
    body: string,
    shutdown: AbortSignal,
  ): Promise<AttemptOutcome> {
    const attemptedAt = Date.now();
    const started = performance.now();
    const done = (o: Omit<AttemptOutcome, 'attemptedAt' | 'latencyMs'>): AttemptOutcome => ({
      ...o,
      attemptedAt,
      latencyMs: Math.round(performance.now() - started),
    });
    const timeout = AbortSignal.timeout(this.opts.timeoutMs);
    try {
      // IP literals never reach the lookup hook, so check them (and the scheme) here, on every attempt.
      const url = parseWebhookUrl(target, this.opts.allowPrivate);
      const res = await request(url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: {
          'content-type': 'application/json',
          'user-agent': this.opts.userAgent ?? 'SIMOSphere-Webhooks/1.0',
          ...headers,
        },
        body,
        signal: AbortSignal.any([timeout, shutdown]),
      });
      const excerpt = await readExcerpt(res.body);
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      return done({
        succeeded: ok,
        statusCode: res.statusCode,
        error: ok ? null : `HTTP ${res.statusCode}`,
        responseExcerpt: excerpt,
      });
    } catch (err) {
      let message: string;
      if (timeout.aborted || isTimeoutError(err)) message = `timed out after ${this.opts.timeoutMs} ms`;
      else if (shutdown.aborted) message = 'interrupted by shutdown';
      else message = describeError(err);
      return done({ succeeded: false, statusCode: null, error: message, responseExcerpt: null });
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

async function readExcerpt(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= EXCERPT_BYTES) break;
    }
  } finally {
    body.destroy();
  }
  if (size === 0) return null;
  // Cut on a byte budget, then drop a split trailing character.
  return Buffer.concat(chunks)
    .subarray(0, EXCERPT_BYTES)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** undici's own connect/headers/body timers may fire just before the overall signal does. */
function isTimeoutError(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } };
  return TIMEOUT_CODES.has(e.code ?? '') || TIMEOUT_CODES.has(e.cause?.code ?? '');
}

function describeError(err: unknown): string {
  if (err instanceof TargetRefusedError) return `refused: ${err.message}`;
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.cause instanceof TargetRefusedError) return `refused: ${e.cause.message}`;
  const code = e.code ?? e.cause?.code;
  const msg = (e.cause?.message ?? e.message ?? String(err)).slice(0, 300);
  return code ? `${code}: ${msg}` : msg;
}
