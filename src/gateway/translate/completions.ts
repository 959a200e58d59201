import { z } from 'zod';
import { ApiError } from '../../shared/errors.js';
import type { ChatCompletionRequest } from '../chat-schema.js';
import { type ChatAnswer, type ChatChunk, finishReasonOf, firstChoice } from './chat-shapes.js';

/** The legacy Completions request (`/v1/completions`). */
export const completionsRequestSchema = z.looseObject({
  model: z.string().min(1),
  prompt: z.union([
    z.string(),
    z.array(z.string()).min(1),
    z.array(z.int()).min(1),
    z.array(z.array(z.int()).min(1)).min(1),
  ]),
  max_tokens: z.int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  n: z.int().min(1).max(128).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  seed: z.int().nullish(),
  logit_bias: z.record(z.string(), z.number().min(-100).max(100)).nullish(),
  user: z.string().nullish(),
  echo: z.boolean().nullish(),
  suffix: z.string().nullish(),
  logprobs: z.int().min(0).max(5).nullish(),
  best_of: z.int().min(1).nullish(),
});

export type CompletionsRequest = z.infer<typeof completionsRequestSchema>;

/** OpenAI's default cap for a legacy completion. */
export const DEFAULT_COMPLETION_TOKENS = 16;

/**
 * The chat request that serves a completion: the prompt as the one user message. Only what a chat
 * model can do is accepted; `echo`, `suffix`, `logprobs`, `best_of` and several prompts need a server
 * that serves `/v1/completions` itself.
 */
export function completionsToChat(req: CompletionsRequest): ChatCompletionRequest {
  const prompt = req.prompt;
  const text =
    typeof prompt === 'string'
      ? prompt
      : prompt.length === 1 && typeof prompt[0] === 'string'
        ? prompt[0]
        : undefined;
  if (text === undefined)
    throw new ApiError(
      'invalid_parameter',
      "Invalid value for 'prompt': this model takes one text prompt; token ids and several prompts are not supported.",
      'prompt',
    );
  for (const field of ['echo', 'suffix', 'logprobs'] as const)
    if (req[field] !== undefined && req[field] !== null && req[field] !== false)
      throw new ApiError(
        'invalid_parameter',
        `Invalid value for '${field}': not supported by this model.`,
        field,
      );
  if (req.best_of !== undefined && req.best_of !== null && req.best_of !== (req.n ?? 1))
    throw new ApiError(
      'invalid_parameter',
      "Invalid value for 'best_of': not supported by this model.",
      'best_of',
    );
  const body: ChatCompletionRequest = {
    model: req.model,
    messages: [{ role: 'user', content: text }],
    max_tokens: req.max_tokens ?? DEFAULT_COMPLETION_TOKENS,
  };
  for (const key of [
    'temperature',
    'top_p',
    'n',
    'stop',
    'presence_penalty',
    'frequency_penalty',
    'seed',
    'logit_bias',
    'user',
  ] as const) {
    const v = req[key];
    if (v !== undefined && v !== null) (body as Record<string, unknown>)[key] = v;
  }
  return body;
}

export const newCompletionId = (requestId: string) =>
  `cmpl-${requestId.replace(/[^A-Za-z0-9]/g, '').slice(-24)}`;

/** The `text_completion` object of a non-streamed chat answer. */
export function completionOfChat(
  answer: ChatAnswer,
  opts: { id: string; model: string; created: number },
): Record<string, unknown> {
  const choices = (answer.choices ?? []).map((_, i) => {
    const c = firstChoice({ choices: [answer.choices![i]!] });
    return {
      text: c.text,
      index: i,
      logprobs: null,
      finish_reason: c.finish === 'tool_calls' ? 'stop' : c.finish,
    };
  });
  return completionEnvelope(opts, choices, answer.usage);
}

/** A `text_completion` object, whole or one streamed chunk of it. */
function completionEnvelope(
  opts: { id: string; model: string; created: number },
  choices: unknown[],
  usage: unknown,
): Record<string, unknown> {
  return {
    id: opts.id,
    object: 'text_completion',
    created: opts.created,
    model: opts.model,
    choices,
    ...(usage ? { usage } : {}),
  };
}

/** One streamed chat chunk as a completion chunk; null when it carries nothing to send. */
export function completionChunkOfChat(
  chunk: ChatChunk,
  opts: { id: string; model: string; created: number; includeUsage: boolean },
): Record<string, unknown> | null {
  const choices = (chunk.choices ?? []).flatMap((c) => {
    const text = typeof c.delta?.content === 'string' ? c.delta.content : '';
    const done = c.finish_reason !== null && c.finish_reason !== undefined;
    if (text === '' && !done) return [];
    const finish = done ? finishReasonOf(c.finish_reason, false) : null;
    return [
      {
        text,
        index: typeof c.index === 'number' ? c.index : 0,
        logprobs: null,
        finish_reason: finish === 'tool_calls' ? 'stop' : finish,
      },
    ];
  });
  const usage = opts.includeUsage && chunk.usage ? chunk.usage : undefined;
  if (choices.length === 0 && !usage) return null;
  return completionEnvelope(opts, choices, usage);
}
