import type { FastifyReply, FastifyRequest } from 'fastify';
import { ClientDisconnect } from '../../http/client-disconnect.js';
import type { ChatEndpoint, InferenceCall } from '../inference-pipeline.js';

/** A pipeline call whose signal watches the HTTP client; the route disposes it when done. */
export type RequestCall<B> = InferenceCall & {
  body: B;
  signal: ClientDisconnect;
  endpoint: ChatEndpoint | undefined;
};

/**
 * An authenticated HTTP request in the pipeline's terms: its tenant, id (which keys the usage record),
 * start time, rate-limit count, and a signal that fires when the client disconnects. `endpoint` names
 * the surface in usage records (chat completions when absent).
 */
export function callFor<B>(
  request: FastifyRequest,
  reply: FastifyReply,
  body: B,
  endpoint?: ChatEndpoint,
): RequestCall<B> {
  return {
    auth: request.auth!,
    body,
    requestId: request.id,
    signal: new ClientDisconnect(reply),
    startedAt: request.startedAt,
    counted: request.counted,
    endpoint,
  };
}
