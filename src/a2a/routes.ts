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
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ResolvedConfig } from '../config/load.js';
import { platformVersion } from '../discovery/platform-version.js';
import type { SurfaceDeps } from '../gateway/inference-pipeline.js';
import { type ApiKeyAuthDeps, apiKeyGuard } from '../http/api-key-auth.js';
import { clientAbortSignal } from '../http/client-disconnect.js';
import { defineRoute } from '../http/define-route.js';
import { openSse } from '../http/sse.js';
import { A2A_PATH, buildAgentCard } from './agent-card.js';
import { ChatAgentExecutor, STREAMING_STATE_KEY } from './chat-executor.js';
import { BoundedTaskStore } from './task-store.js';
import { TenantUser } from './tenant-user.js';

const STREAMING_METHODS = new Set(['SendStreamingMessage', 'message/stream']);

type JsonRpcBody = { id?: unknown; method?: unknown } | undefined;

const header = (request: FastifyRequest, name: string) => {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(',') : value;
};

/**
 * `POST /a2a`: the A2A JSON-RPC agent, for protocol 1.0 (`SendMessage`, `SendStreamingMessage`) and,
 * when the client sends no `A2A-Version` or `0.3`, the v0.3 methods (`message/send`, `message/stream`).
 * This is the SDK's Express JSON-RPC handler rewritten for Fastify, with our API-key authentication
 * and rate limiting in front.
 */
export function registerA2aRoutes(
  app: FastifyInstance,
  deps: SurfaceDeps & ApiKeyAuthDeps & { config: ResolvedConfig },
): void {
  const card = buildAgentCard(deps.config, platformVersion());
  const requestHandler = new DefaultRequestHandler(card, new BoundedTaskStore(), new ChatAgentExecutor(deps));
  const v1 = new JsonRpcTransportHandler(requestHandler);
  const legacy = new LegacyJsonRpcTransportHandler(requestHandler);

  defineRoute(app, {
    method: 'POST',
    url: A2A_PATH,
    guard: apiKeyGuard(deps, 'inference'),
    doc: {
      summary: 'A2A agent (JSON-RPC 2.0): SendMessage/SendStreamingMessage and message/send/message/stream',
      description:
        'Chat with the models as an A2A agent; streaming methods answer with Server-Sent Events. `A2A-Version: 1.0` selects the v1.0 methods, otherwise v0.3 applies. Metered like `/v1`.',
      tags: ['Agents'],
      responseContentType: 'application/json',
      streams: true,
      streamEvents: 'SSE: one JSON-RPC 2.0 response an event (the task, its status and message updates)',
    },
    handler: async (request, reply) => {
      const body = request.body as JsonRpcBody;
      const requestedVersion = header(request, A2A_VERSION_HEADER);
      const useLegacy = (requestedVersion || A2A_LEGACY_PROTOCOL_VERSION) === A2A_LEGACY_PROTOCOL_VERSION;
      const mapError = useLegacy
        ? LegacyJsonRpcTransportHandler.mapToLegacyJSONRPCError
        : JsonRpcTransportHandler.mapToJSONRPCError;
      const rpcError = (err: unknown) => ({ jsonrpc: '2.0', id: body?.id ?? null, error: mapError(err) });
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
        const result = await (useLegacy ? legacy : v1).handle(
          (body ?? {}) as Record<string, unknown>,
          context,
        );
        if (result && typeof (result as AsyncGenerator)[Symbol.asyncIterator] === 'function') {
          streaming = true;
          await sendEvents(reply, result as AsyncGenerator<unknown>, rpcError, () => abort.dispose(), {
            writeTimeoutMs: deps.config.limits.writeTimeoutMs,
          });
          return;
        }
        return reply.send(result);
      } catch (err) {
        request.log.warn({ err, reqId: request.id }, 'A2A request failed');
        return reply.code(200).send(rpcError(err));
      } finally {
        if (!streaming) abort.dispose();
      }
    },
  });
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
