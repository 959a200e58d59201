import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type Authenticated, defineRoute, type Guard, type RouteText } from '../../http/define-route.js';
import { namedEvents, openSse, type SseWriter } from '../../http/sse.js';
import { ApiError } from '../../shared/errors.js';
import { type ChatCall, midStreamFailure } from '../inference-call.js';
import type { SurfaceDeps } from '../inference-pipeline.js';
import { type ResponseStore, withItemIds } from '../responses/response-store.js';
import { normalUsage } from '../translate/chat-shapes.js';
import {
  inputItemsOf,
  type ResponsesRequest,
  responsesRequestSchema,
  responsesToChat,
} from '../translate/responses-request.js';
import {
  newResponseId,
  outputOfChat,
  ResponsesStreamTranslator,
  responseObject,
  statusOf,
} from '../translate/responses-response.js';
import { callFor } from './request-call.js';

const responseSchema = z.looseObject({
  id: z.string(),
  object: z.literal('response'),
  created_at: z.int(),
  status: z.string(),
  model: z.string(),
  output: z.array(z.looseObject({ type: z.string() })),
  usage: z.looseObject({ input_tokens: z.int(), output_tokens: z.int(), total_tokens: z.int() }).nullable(),
});

/** A response object as stored or relayed (typed loosely there; tests check it against the schema). */
type ResponseObject = z.input<typeof responseSchema>;

const createDoc: RouteText = {
  summary: 'Create a model response (OpenAI Responses API); `"stream": true` answers with Server-Sent Events',
  description:
    'Text or message input, `instructions`, function tools, `text.format`, `max_output_tokens`. With `store` (the default) the response is kept for `previous_response_id` and retrieval.',
  tags: ['Inference'],
  streams: true,
  streamEvents:
    'SSE: named events (`response.created`, `response.output_text.delta`, …), ending with `response.completed`, `response.incomplete` or `response.failed`',
};

const idParams = z.object({ id: z.string().min(1) });
const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  order: z.enum(['asc', 'desc']).default('desc'),
  after: z.string().optional(),
});

/** What the Responses routes read: a surface's dependencies and the stored responses. */
export type ResponsesDeps = SurfaceDeps & { responses: ResponseStore };

/** `POST /v1/responses` and the stored responses: `GET|DELETE /v1/responses/{id}`, `…/input_items`. */
export function registerResponsesRoutes(
  app: FastifyInstance,
  deps: ResponsesDeps,
  inference: Guard<Authenticated>,
): void {
  const tags = ['Inference'];
  defineRoute(app, {
    method: 'POST',
    url: '/v1/responses',
    guard: inference,
    doc: createDoc,
    keepSentBody: true,
    schema: { body: responsesRequestSchema, response: { 200: responseSchema } },
    handler: (request, reply) => createResponse(deps, request, reply),
  });

  defineRoute(app, {
    method: 'GET',
    url: '/v1/responses/:id',
    guard: inference,
    doc: {
      summary: 'Retrieve a stored response',
      description: 'A response created with `store` (the default), as `POST /v1/responses` answered it.',
      tags,
    },
    schema: { params: idParams, response: { 200: responseSchema } },
    handler: async (request) => {
      const { id } = request.params;
      const stored = await deps.responses.get(request.auth.tenant.id, id);
      if (!stored) throw responseNotFound(id);
      return stored as ResponseObject;
    },
  });

  defineRoute(app, {
    method: 'DELETE',
    url: '/v1/responses/:id',
    guard: inference,
    doc: {
      summary: 'Delete a stored response',
      description: 'It can no longer be retrieved or continued with `previous_response_id`.',
      tags,
    },
    schema: {
      params: idParams,
      response: { 200: z.object({ id: z.string(), object: z.literal('response'), deleted: z.boolean() }) },
    },
    handler: async (request) => {
      const { id } = request.params;
      if (!(await deps.responses.delete(request.auth.tenant.id, id))) throw responseNotFound(id);
      return { id, object: 'response' as const, deleted: true };
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/v1/responses/:id/input_items',
    guard: inference,
    doc: {
      summary: "List the input items of a stored response's request",
      description: 'The input items of the request that created the response, a page at a time.',
      tags,
    },
    schema: {
      params: idParams,
      querystring: listQuery,
      response: {
        200: z.looseObject({
          object: z.literal('list'),
          data: z.array(z.looseObject({ id: z.string() })),
          first_id: z.string().nullable(),
          last_id: z.string().nullable(),
          has_more: z.boolean(),
        }),
      },
    },
    handler: async (request) => {
      const { id } = request.params;
      const q = request.query;
      const items = await deps.responses.inputItems(request.auth.tenant.id, id);
      if (!items) throw responseNotFound(id);
      const ordered = q.order === 'desc' ? [...items].reverse() : items;
      const start = q.after === undefined ? 0 : ordered.findIndex((i) => i.id === q.after) + 1;
      const page = ordered.slice(start, start + q.limit);
      return {
        object: 'list' as const,
        data: page,
        first_id: page[0]?.id ?? null,
        last_id: page.at(-1)?.id ?? null,
        has_more: start + page.length < ordered.length,
      };
    },
  });
}

const responseNotFound = (id: string) =>
  new ApiError('not_found', `Response with id '${id}' not found.`, 'id');

async function createResponse(
  deps: ResponsesDeps,
  request: FastifyRequest & Authenticated & { body: ResponsesRequest },
  reply: FastifyReply,
) {
  const { auth } = request;
  const req = request.body;
  const store = req.store !== false;
  let history: ReturnType<typeof inputItemsOf> = [];
  if (req.previous_response_id) {
    const found = await deps.responses.conversation(auth.tenant.id, req.previous_response_id);
    if (!found)
      throw new ApiError(
        'not_found',
        `Previous response with id '${req.previous_response_id}' not found.`,
        'previous_response_id',
      );
    history = found;
  }
  const body = responsesToChat(req, history);
  const call = callFor(request, reply, body, 'responses');
  const id = newResponseId();
  const createdAt = Math.floor(Date.now() / 1000);
  // The answer was served and billed: a failure to keep it is logged, not turned into an error.
  const save = (response: Record<string, unknown>) =>
    store
      ? deps.responses
          .save(
            auth.tenant.id,
            { ...response, id },
            withItemIds(inputItemsOf(req)),
            req.previous_response_id ?? null,
          )
          .catch((err: unknown) => request.log.error({ err, reqId: request.id }, 'storing a response failed'))
      : Promise.resolve();

  try {
    const model = deps.catalog.resolve(auth.tenant, req.model, 'chat');
    if (deps.pipeline.speaksNatively(model, 'responses')) {
      // Relayed as it is, with the conversation of previous_response_id spelled out: the upstream
      // keeps nothing (store: false); the gateway stores the answer itself.
      const { previous_response_id: _previous, ...raw } = request.sentBody as Record<string, unknown>;
      const body = { ...raw, input: [...history, ...inputItemsOf(req)], store: false };
      const own = (response: Record<string, unknown>) =>
        Object.assign(response, { id, previous_response_id: req.previous_response_id ?? null, store });
      if (req.stream === true) return await relayNativeResponse(deps, reply, call, body, own, save);
      const native = { surface: 'responses' as const, headers: {} };
      const response = own((await deps.pipeline.completeNative(call, native, body)).body);
      await save(response);
      return reply.send(response);
    }
    if (req.stream === true)
      return await streamResponse(deps, reply, req, call, { id, createdAt, store, save });
    const answer = (await deps.pipeline.complete(call)).body;
    const { output, finish } = outputOfChat(answer);
    const response = responseObject(req, {
      id,
      createdAt,
      model: req.model,
      status: statusOf(finish),
      output,
      usage: normalUsage(answer.usage as never),
      finish,
      store,
    });
    await save(response);
    return reply.send(response);
  } finally {
    call.signal.dispose();
  }
}

async function streamResponse(
  deps: ResponsesDeps,
  reply: FastifyReply,
  req: ResponsesRequest,
  call: ChatCall,
  r: {
    id: string;
    createdAt: number;
    store: boolean;
    save: (response: Record<string, unknown>) => Promise<unknown>;
  },
) {
  const translator = new ResponsesStreamTranslator(req, r.id, r.createdAt, req.model, r.store);
  let failure: { code: string; message: string } | undefined;
  let sse!: SseWriter;
  await deps.pipeline.stream(call, {
    open: () => {
      sse = openSse(reply, deps.config.limits.writeTimeoutMs);
      return sse.write(namedEvents(translator.start()));
    },
    chunk: (chunk) => sse.write(namedEvents(translator.chunk(chunk))),
    failed: () => {
      failure = { code: 'server_error', message: midStreamFailure().message };
    },
  });
  if (call.signal.aborted || sse.res.destroyed) return;
  const closing = translator.finish(failure);
  const response = translator.result();
  if (response && !failure) await r.save(response);
  await sse.write(namedEvents(closing));
  sse.end();
}

/** A Responses-native upstream's event stream, relayed with the gateway's response id and public model. */
async function relayNativeResponse(
  deps: ResponsesDeps,
  reply: FastifyReply,
  call: ChatCall,
  body: Record<string, unknown>,
  own: (response: Record<string, unknown>) => Record<string, unknown>,
  save: (response: Record<string, unknown>) => Promise<unknown>,
) {
  let sse!: SseWriter;
  let publicModel = '';
  await deps.pipeline.streamNative(call, { surface: 'responses', headers: {} }, body, {
    open: (model) => {
      publicModel = model.id;
      sse = openSse(reply, deps.config.limits.writeTimeoutMs);
    },
    chunk: async (event) => {
      const response = event.response as Record<string, unknown> | undefined;
      if (response && typeof response === 'object') {
        own(response).model = publicModel;
        // Stored before the client reads the end of the stream, so it can be retrieved at once.
        if (event.type === 'response.completed' || event.type === 'response.incomplete') await save(response);
      }
      return sse.write(namedEvents([event as { type: string }]));
    },
    failed: () =>
      sse.write(
        namedEvents([
          { type: 'error', code: 'server_error', message: midStreamFailure().message, param: null },
        ]),
      ),
  });
  sse.end();
}
