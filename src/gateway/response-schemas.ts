import { z } from 'zod';

/**
 * The data plane's answers as OpenAI defines them, for the OpenAPI document. Objects are loose because
 * upstreams may add fields (which we pass through).
 */
const usageSchema = z.looseObject({
  prompt_tokens: z.int(),
  completion_tokens: z.int(),
  total_tokens: z.int(),
});

export const chatCompletionResponseSchema = z.looseObject({
  id: z.string(),
  object: z.literal('chat.completion'),
  created: z.int().describe('Unix seconds'),
  model: z.string(),
  choices: z.array(
    z.looseObject({
      index: z.int(),
      message: z.looseObject({
        role: z.literal('assistant'),
        content: z.string().nullable(),
        refusal: z.string().nullable().optional(),
        tool_calls: z.array(z.looseObject({ id: z.string(), type: z.string() })).optional(),
      }),
      finish_reason: z.enum(['stop', 'length', 'tool_calls', 'content_filter', 'function_call']).nullable(),
      logprobs: z.unknown().nullable(),
    }),
  ),
  usage: usageSchema.optional(),
});

/**
 * A model server's answer as the gateway relays it. The pipeline passes its fields on without
 * rebuilding them, so the type is asserted, not proven; tests check every answer against the schema.
 */
export type ChatCompletionResponse = z.input<typeof chatCompletionResponseSchema>;

export const modelObjectSchema = z.looseObject({
  id: z.string(),
  object: z.literal('model'),
  created: z.int(),
  owned_by: z.string(),
  context_window: z.int().optional(),
  pricing: z
    .object({
      input_per_mtok: z.number(),
      output_per_mtok: z.number(),
      cached_input_per_mtok: z.number().optional(),
      cache_write_per_mtok: z.number().optional(),
      currency: z.literal('USD'),
    })
    .optional(),
});

export const modelListSchema = z.object({ object: z.literal('list'), data: z.array(modelObjectSchema) });

export const embeddingsResponseSchema = z.looseObject({
  object: z.literal('list'),
  data: z.array(
    z.object({
      object: z.literal('embedding'),
      index: z.int(),
      embedding: z.union([z.array(z.number()), z.string()]),
    }),
  ),
  model: z.string(),
  // Optional as on chat answers: some model servers send none (the meter then counts the input).
  usage: z.object({ prompt_tokens: z.int(), total_tokens: z.int() }).optional(),
});

/** An embeddings answer as relayed from the model server (see `ChatCompletionResponse`). */
export type EmbeddingsResponse = z.input<typeof embeddingsResponseSchema>;
