/**
 * The A2A agent behind `POST /a2a` (see routes.ts), with the A2A SDK it is built on: loaded by the
 * first A2A request, so a gateway nobody talks A2A to does not carry the SDK.
 */
import {
  A2A_VERSION_HEADER,
  Extensions,
  formatSSEErrorEvent,
  formatSSEEvent,
  HTTP_EXTENSION_HEADER,
} from '@a2a-js/sdk';
import { A2A_LEGACY_PROTOCOL_VERSION, LEGACY_HTTP_EXTENSION_HEADER } from '@a2a-js/sdk/compat/v0_3';
import { LegacyJsonRpcTransportHandler } from '@a2a-js/sdk/compat/v0_3/server';
import {
  DefaultRequestHandler,
  defaultServerCallContextBuilder,
  JsonRpcTransportHandler,
  validateVersion,
} from '@a2a-js/sdk/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ResolvedConfig } from '../config/load.js';
import { platformVersion } from '../discovery/platform-version.js';
import type { SurfaceDeps } from '../gateway/inference-pipeline.js';
import { clientAbortSignal } from '../http/client-disconnect.js';
import type { Authenticated } from '../http/define-route.js';
import { openSse } from '../http/sse.js';
import { buildAgentCard } from './agent-card.js';
import { ChatAgentExecutor, STREAMING_STATE_KEY } from './chat-executor.js';
import { a2aParamsProblem } from './params-check.js';
import { BoundedTaskStore } from './task-store.js';
import { TenantUser } from './tenant-user.js';

const STREAMING_METHODS = new Set(['SendStreamingMessage', 'message/stream']);
/** JSON-RPC 2.0's "Invalid params" and "Internal error". */
const INVALID_PARAMS = -32602;
const INTERNAL_ERROR = -32603;

type JsonRpcBody = { id?: unknown; method?: unknown; params?: unknown } | undefined;

const header = (request: FastifyRequest, name: string) => {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(',') : value;
};

export type A2aHandler = (request: FastifyRequest & Authenticated, reply: FastifyReply) => Promise<unknown>;

/**
 * The SDK's Express JSON-RPC handler rewritten for Fastify: v1.0 methods with `A2A-Version: 1.0`, the
 * v0.3 ones otherwise; streaming methods answer with Server-Sent Events.
 */
export function createA2aHandler(deps: SurfaceDeps & { config: ResolvedConfig }): A2aHandler {
  const card = buildAgentCard(deps.config, platformVersion());
  const requestHandler = new DefaultRequestHandler(card, new BoundedTaskStore(), new ChatAgentExecutor(deps));
  const v1 = new JsonRpcTransportHandler(requestHandler);
  const legacy = new LegacyJsonRpcTransportHandler(requestHandler);

  return async (request, reply) => {
    const body = request.body as JsonRpcBody;
    const requestedVersion = header(request, A2A_VERSION_HEADER);
    const useLegacy = (requestedVersion || A2A_LEGACY_PROTOCOL_VERSION) === A2A_LEGACY_PROTOCOL_VERSION;
    const mapError = useLegacy
      ? LegacyJsonRpcTransportHandler.mapToLegacyJSONRPCError
      : JsonRpcTransportHandler.mapToJSONRPCError;
    // The SDK answers any exception it did not raise itself (a bug, or v0.3 input it uses without
    // checking its type) as an internal error carrying the exception's message: that message stays
    // in our log, the caller gets the request id to quote.
    const hideInternals = <T>(envelope: T): T => {
      const error = (envelope as { error?: { code?: unknown; message?: unknown } } | null)?.error;
      if (error?.code !== INTERNAL_ERROR) return envelope;
      request.log.warn({ reqId: request.id, detail: error.message }, 'A2A internal error');
      const message = `Internal error (request id ${request.id}).`;
      return { ...envelope, error: { code: INTERNAL_ERROR, message } };
    };
    const rpcError = (err: unknown) =>
      hideInternals({ jsonrpc: '2.0', id: body?.id ?? null, error: mapError(err) });
    const abort = clientAbortSignal(reply);
    let streaming = false;
    try {
      const context = defaultServerCallContextBuilder({
        extensions: Extensions.parseServiceParameter(
          useLegacy
            ? (header(request, LEGACY_HTTP_EXTENSION_HEADER) ?? header(request, HTTP_EXTENSION_HEADER))
            : header(request, HTTP_EXTENSION_HEADER),
        ),
        user: new TenantUser(request.auth, request.id, request.startedAt, abort.signal, request.counted),
        headers: request.headers,
        requestedVersion,
      });
      context.state.set(STREAMING_STATE_KEY, STREAMING_METHODS.has(String(body?.method)));
      validateVersion(context.requestedVersion, card, 'JSONRPC');
      const problem = a2aParamsProblem(useLegacy, body?.method, body?.params);
      if (problem)
        return reply.send({
          jsonrpc: '2.0',
          id: body?.id ?? null,
          error: { code: INVALID_PARAMS, message: problem },
        });
      const result = await (useLegacy ? legacy : v1).handle((body ?? {}) as Record<string, unknown>, context);
      if (result && typeof (result as AsyncGenerator)[Symbol.asyncIterator] === 'function') {
        streaming = true;
        await sendEvents(reply, result as AsyncGenerator<unknown>, rpcError, () => abort.dispose(), {
          writeTimeoutMs: deps.config.limits.writeTimeoutMs,
        });
        return;
      }
      return reply.send(hideInternals(result));
    } catch (err) {
      request.log.warn({ err, reqId: request.id }, 'A2A request failed');
      return reply.code(200).send(rpcError(err));
    } finally {
      if (!streaming) abort.dispose();
    }
  };
}

/**
 * Relays the handler's events as SSE, at the pace the client reads them (a client that stops
 * reading is cut off after `writeTimeoutMs`, which aborts the task's model call); an error after
 * the first event goes out as an `error` event.
 */
async function sendEvents(
  reply: FastifyReply,
  events: AsyncGenerator<unknown>,
  rpcError: (err: unknown) => unknown,
  done: () => void,
  { writeTimeoutMs }: { writeTimeoutMs: number },
): Promise<void> {
  const iterator = events[Symbol.asyncIterator]();
  let first: IteratorResult<unknown>;
  try {
    first = await iterator.next();
  } catch (err) {
    done();
    await reply.code(200).send(rpcError(err));
    return;
  }
  const sse = openSse(reply, writeTimeoutMs);
  const res = sse.res;
  try {
    if (!first.done) await sse.write(formatSSEEvent(first.value));
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      if (res.destroyed) break;
      await sse.write(formatSSEEvent(next.value));
    }
  } catch (err) {
    if (!res.destroyed) await sse.write(formatSSEErrorEvent(rpcError(err)));
  } finally {
    await iterator.return?.(undefined).catch(() => undefined);
    done();
    if (!res.writableEnded) res.end();
  }
}
