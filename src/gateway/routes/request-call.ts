import type { FastifyReply, FastifyRequest } from 'fastify';
import { ClientDisconnect } from '../../http/client-disconnect.js';
import type { Authenticated } from '../../http/define-route.js';
import type { ChatEndpoint, InferenceCall } from '../inference-call.js';
import type { CacheDirective } from '../response-cache/response-cache.js';

/** A pipeline call whose signal watches the HTTP client; the route disposes it when done. */
export type RequestCall<B> = InferenceCall & {
  body: B;
  signal: ClientDisconnect;
  endpoint: ChatEndpoint | undefined;
};

/**
 * An authenticated HTTP request in the pipeline's terms: its tenant, id (which keys the usage record),
 * start time, rate-limit count, `x-simo-cache` directive, and a signal that fires when the client disconnects. `endpoint` names
 * the surface in usage records (chat completions when absent).
 */
export function callFor<B>(
  request: FastifyRequest & Authenticated,
  reply: FastifyReply,
  body: B,
  endpoint?: ChatEndpoint,
): RequestCall<B> {
  return {
    auth: request.auth,
    body,
    requestId: request.id,
    signal: new ClientDisconnect(reply),
    startedAt: request.startedAt,
    counted: request.counted,
    endpoint,
    session: sessionOf(request.headers['x-session-id']),
    cacheDirective: cacheDirectiveOf(request.headers['x-simo-cache']),
    headers: reply,
    traceparent: firstValue(request.headers.traceparent),
  };
}

const sessionOf = (v: string | string[] | undefined): string | undefined =>
  typeof v === 'string' && v !== '' ? v : undefined;

/** The client's `x-simo-cache` request header: `force` or `no-store`; anything else is ignored. */
function cacheDirectiveOf(value: string | string[] | undefined): CacheDirective | undefined {
  const v = firstValue(value)?.trim().toLowerCase();
  return v === 'force' || v === 'no-store' ? v : undefined;
}

const firstValue = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value;
