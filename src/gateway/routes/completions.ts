import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type Authenticated, defineRoute, type Guard, type RouteText } from '../../http/define-route.js';
import { openSse, type SseWriter } from '../../http/sse.js';
import { midStreamFailure } from '../inference-call.js';
import type { SurfaceDeps } from '../inference-pipeline.js';
import {
  completionChunkOfChat,
  completionOfChat,
  completionsRequestSchema,
  completionsToChat,
  newCompletionId,
} from '../translate/completions.js';
import { callFor } from './request-call.js';

const completionSchema = z.looseObject({
  id: z.string(),
  object: z.literal('text_completion'),
  created: z.int(),
  model: z.string(),
  choices: z.array(z.looseObject({ text: z.string(), index: z.int(), finish_reason: z.string().nullable() })),
});

/** A completion as the translation builds it (typed loosely there; tests check it against the schema). */
type Completion = z.input<typeof completionSchema>;

const doc: RouteText = {
  summary:
    'Create a text completion (legacy OpenAI Completions API); `"stream": true` answers with Server-Sent Events',
  description:
    'A `prompt` (text, texts or token ids) completed by a chat model through the same pipeline, rate limit and metering as chat completions.',
  tags: ['Inference'],
  streams: true,
};

/** `POST /v1/completions`, streamed and not. */
export function registerCompletionsRoute(
  app: FastifyInstance,
  deps: SurfaceDeps,
  inference: Guard<Authenticated>,
): void {
  defineRoute(app, {
    method: 'POST',
    url: '/v1/completions',
    guard: inference,
    doc,
    schema: { body: completionsRequestSchema, response: { 200: completionSchema } },
    handler: async (request, reply) => {
      const req = request.body;
      const call = callFor(request, reply, completionsToChat(req), 'completions');
      const shape = {
        id: newCompletionId(request.id),
        model: req.model,
        created: Math.floor(Date.now() / 1000),
      };
      const { pipeline } = deps;
      try {
        if (req.stream !== true)
          return reply.send(completionOfChat((await pipeline.complete(call)).body, shape) as Completion);
        const chunkShape = { ...shape, includeUsage: req.stream_options?.include_usage === true };
        let sse!: SseWriter;
        await pipeline.stream(call, {
          open: () => {
            sse = openSse(reply, deps.config.limits.writeTimeoutMs);
          },
          chunk: (chunk) => {
            const out = completionChunkOfChat(chunk, chunkShape);
            if (out) return sse.write(`data: ${JSON.stringify(out)}\n\n`);
          },
          failed: () => sse.write(`data: ${JSON.stringify(midStreamFailure().toBody())}\n\n`),
        });
        await sse.write('data: [DONE]\n\n');
        sse.end();
      } finally {
        call.signal.dispose();
      }
    },
  });
}
