import { z } from 'zod';
import { ApiError } from '../../shared/errors.js';
import type { ChatCompletionRequest } from '../chat-schema.js';

/**
 * The Anthropic Messages request. Loose objects: what we do not translate (`metadata`, `thinking`,
 * `cache_control`, `service_tier`…) is accepted and left out of the chat request.
 */
const block = z.looseObject({ type: z.string() });

/** `system` turns mid-conversation come from a beta Claude Code uses; they become system messages. */
const message = z.looseObject({
  role: z.enum(['user', 'assistant', 'system']),
  content: z.union([z.string(), z.array(block)]),
});

const customTool = z.looseObject({
  name: z.string().min(1).max(128),
  description: z.string().optional(),
  input_schema: z.record(z.string(), z.unknown()),
  type: z.literal('custom').optional(),
});
const tool = z.union([customTool, z.looseObject({ type: z.string(), name: z.string().optional() })]);

const toolChoice = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('auto'), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal('any'), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({
    type: z.literal('tool'),
    name: z.string().min(1),
    disable_parallel_tool_use: z.boolean().optional(),
  }),
  z.looseObject({ type: z.literal('none') }),
]);

const system = z.union([z.string(), z.array(z.looseObject({ type: z.literal('text'), text: z.string() }))]);

/** What `/v1/messages/count_tokens` reads. */
export const countTokensRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(message).min(1),
  system: system.optional(),
  tools: z.array(tool).optional(),
  tool_choice: toolChoice.optional(),
});

export const messagesRequestSchema = countTokensRequestSchema.extend({
  max_tokens: z.int().min(1),
  stop_sequences: z.array(z.string()).optional(),
  stream: z.boolean().optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.int().min(0).optional(),
  metadata: z.looseObject({ user_id: z.string().nullish() }).optional(),
});

export type MessagesRequest = z.infer<typeof messagesRequestSchema>;
export type CountTokensRequest = z.infer<typeof countTokensRequestSchema>;

type ChatMessage = ChatCompletionRequest['messages'][number];
type Block = Record<string, unknown> & { type: string };

/** The system prompt as one text. */
export function systemText(s: CountTokensRequest['system']): string {
  if (s === undefined) return '';
  return typeof s === 'string' ? s : s.map((b) => b.text).join('\n');
}

/** The Chat Completions request that serves a Messages request (or, without `max_tokens`, counts one). */
export function messagesToChat(req: CountTokensRequest & Partial<MessagesRequest>): ChatCompletionRequest {
  const messages: ChatMessage[] = [];
  const sys = systemText(req.system);
  if (sys !== '') messages.push({ role: 'system', content: sys });
  req.messages.forEach((m, i) => {
    if (m.role === 'assistant') addAssistant(messages, m.content as string | Block[]);
    else if (m.role === 'system')
      messages.push({ role: 'system', content: textOfBlocks(m.content as string | Block[]) });
    else addUser(messages, m.content as string | Block[], i);
  });
  const body: ChatCompletionRequest = { model: req.model, messages };
  if (req.max_tokens) body.max_tokens = req.max_tokens;
  if (req.stop_sequences && req.stop_sequences.length > 0) {
    if (req.stop_sequences.length > 4)
      throw new ApiError(
        'invalid_parameter',
        "Invalid value for 'stop_sequences': this model accepts at most 4 stop sequences.",
        'stop_sequences',
      );
    body.stop = req.stop_sequences;
  }
  if (typeof req.temperature === 'number') body.temperature = req.temperature;
  if (typeof req.top_p === 'number') body.top_p = req.top_p;
  if (typeof req.top_k === 'number') body.top_k = req.top_k;
  if (typeof req.metadata?.user_id === 'string') body.user = req.metadata.user_id;
  const tools = (req.tools ?? []).flatMap((t) =>
    'input_schema' in t && (t.type === undefined || t.type === 'custom')
      ? [
          {
            type: 'function',
            function: {
              name: String(t.name),
              ...(typeof t.description === 'string' ? { description: t.description } : {}),
              parameters: t.input_schema as Record<string, unknown>,
            },
          },
        ]
      : [],
  );
  const choice = req.tool_choice;
  if (tools.length > 0 && choice?.type !== 'none') {
    body.tools = tools;
    if (choice?.type === 'any') body.tool_choice = 'required';
    else if (choice?.type === 'tool')
      body.tool_choice = { type: 'function', function: { name: choice.name } };
    if (choice && 'disable_parallel_tool_use' in choice && choice.disable_parallel_tool_use === true)
      body.parallel_tool_calls = false;
  }
  return body;
}

function addAssistant(messages: ChatMessage[], content: string | Block[]): void {
  if (typeof content === 'string') {
    messages.push({ role: 'assistant', content });
    return;
  }
  const text = content
    .flatMap((b) => (b.type === 'text' && typeof b.text === 'string' ? [b.text] : []))
    .join('');
  const calls = content.flatMap((b) =>
    b.type === 'tool_use'
      ? [
          {
            id: String(b.id),
            type: 'function',
            function: { name: String(b.name), arguments: JSON.stringify(b.input ?? {}) },
          },
        ]
      : [],
  );
  messages.push({
    role: 'assistant',
    content: text === '' && calls.length > 0 ? null : text,
    ...(calls.length > 0 ? { tool_calls: calls } : {}),
  });
}

/**
 * A user turn: its tool results become `tool` messages (they must follow the assistant's calls), the
 * rest one user message after them.
 */
function addUser(messages: ChatMessage[], content: string | Block[], index: number): void {
  if (typeof content === 'string') {
    messages.push({ role: 'user', content });
    return;
  }
  const parts: Array<Record<string, unknown> & { type: string }> = [];
  content.forEach((b, j) => {
    const param = `messages[${index}].content[${j}]`;
    if (b.type === 'tool_result') {
      messages.push({ role: 'tool', tool_call_id: String(b.tool_use_id), content: toolResultText(b) });
      return;
    }
    if (b.type === 'text' && typeof b.text === 'string') parts.push({ type: 'text', text: b.text });
    else if (b.type === 'image') parts.push(imagePart(b, param));
    // Thinking blocks and server-side tool traces carry nothing a chat upstream can read back.
    else if (b.type === 'thinking' || b.type === 'redacted_thinking') return;
    else
      throw new ApiError(
        'invalid_parameter',
        `Invalid value for '${param}.type': '${b.type}' content is not supported by this model.`,
        `${param}.type`,
      );
  });
  if (parts.length === 0) return;
  const onlyText = parts.every((p) => p.type === 'text');
  messages.push({
    role: 'user',
    content: onlyText ? parts.map((p) => p.text as string).join('\n') : parts,
  });
}

function textOfBlocks(content: string | Block[]): string {
  if (typeof content === 'string') return content;
  return content.flatMap((p) => (p.type === 'text' && typeof p.text === 'string' ? [p.text] : [])).join('\n');
}

function toolResultText(b: Block): string {
  const c = b.content;
  const text =
    typeof c === 'string'
      ? c
      : Array.isArray(c)
        ? (c as Block[])
            .flatMap((p) => (p.type === 'text' && typeof p.text === 'string' ? [p.text] : []))
            .join('\n')
        : '';
  return b.is_error === true ? `Error: ${text}` : text;
}

function imagePart(b: Block, param: string): Record<string, unknown> & { type: string } {
  const source = (b.source ?? {}) as Record<string, unknown>;
  if (source.type === 'base64' && typeof source.data === 'string' && typeof source.media_type === 'string')
    return { type: 'image_url', image_url: { url: `data:${source.media_type};base64,${source.data}` } };
  if (source.type === 'url' && typeof source.url === 'string')
    return { type: 'image_url', image_url: { url: source.url } };
  throw new ApiError(
    'invalid_parameter',
    `Invalid value for '${param}.source': images are given as base64 data or a URL.`,
    `${param}.source`,
  );
}
