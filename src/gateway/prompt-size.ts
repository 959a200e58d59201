import type { PromptSize } from '../billing/meter.js';
import type { ChatCompletionRequest, EmbeddingsRequest } from './chat-schema.js';

/**
 * What a prompt holds for billing, measured without a tokenizer. Byte-level tokenizers (OpenAI's, Qwen's,
 * Llama 3's…) never make more tokens than UTF-8 bytes, so bytes plus the chat template's framing bound
 * the prompt's tokens whatever the text is; the reservation is priced on that bound.
 */
export interface MeasuredPrompt {
  /** The text the model reads (contents, names, tool calls, tool definitions), for token estimates. */
  text: string;
  size: PromptSize;
}

/** Tokens a chat template puts around each message (role markers, separators), and around the request. */
const MESSAGE_FRAMING_TOKENS = 6;
const REQUEST_FRAMING_TOKENS = 16;
/** Instructions a template adds around tool definitions. */
const TOOLS_FRAMING_TOKENS = 64;
/** An image or audio part: its tokens depend on the model; this much is reserved and estimated for it. */
const MEDIA_PART_TOKENS = 4096;
/** Start and end markers an embedding model may add to each input. */
const EMBEDDING_INPUT_FRAMING_TOKENS = 2;

type Message = ChatCompletionRequest['messages'][number];

/** A chat request's prompt: its messages, their tool calls and the tools offered. */
export function measureChatPrompt(body: Pick<ChatCompletionRequest, 'messages' | 'tools'>): MeasuredPrompt {
  const parts: string[] = [];
  let framing = REQUEST_FRAMING_TOKENS + MESSAGE_FRAMING_TOKENS * body.messages.length;
  for (const m of body.messages) {
    framing += MEDIA_PART_TOKENS * addMessageText(m, parts);
    if (m.role === 'assistant')
      for (const call of m.tool_calls ?? []) {
        framing += MESSAGE_FRAMING_TOKENS;
        if (call.function) parts.push(call.function.name, call.function.arguments);
      }
  }
  if (body.tools && body.tools.length > 0) {
    framing += TOOLS_FRAMING_TOKENS;
    parts.push(JSON.stringify(body.tools));
  }
  // One part (the common case) is used as it is: a long prompt is not copied.
  return sized(parts.length === 1 ? parts[0]! : parts.join('\n'), framing);
}

/** Adds a message's text to `parts`; returns how many media (non-text) parts it has. */
function addMessageText(m: Message, parts: string[]): number {
  if ('name' in m && typeof m.name === 'string') parts.push(m.name);
  if (m.role === 'assistant' && typeof m.refusal === 'string') parts.push(m.refusal);
  const content: unknown = m.content;
  if (typeof content === 'string') {
    parts.push(content);
    return 0;
  }
  if (!Array.isArray(content)) return 0;
  let media = 0;
  for (const p of content as Array<{ type?: unknown; text?: unknown }>) {
    if (typeof p.text === 'string') parts.push(p.text);
    else media++;
  }
  return media;
}

/** An embeddings request's input: texts, or token ids that are counted as they are. */
export function measureEmbeddingsInput(input: EmbeddingsRequest['input']): MeasuredPrompt {
  if (typeof input === 'string') return sized(input, EMBEDDING_INPUT_FRAMING_TOKENS);
  if (input.every((i): i is string => typeof i === 'string'))
    return sized(input.join('\n'), EMBEDDING_INPUT_FRAMING_TOKENS * input.length);
  if (input.every((i): i is number => typeof i === 'number')) return sized('', input.length);
  const rows = input as number[][];
  return sized(
    '',
    rows.reduce((n, row) => n + row.length, 0),
  );
}

const sized = (text: string, framingTokens: number): MeasuredPrompt => ({
  text,
  size: { boundTokens: Buffer.byteLength(text, 'utf8') + framingTokens, framingTokens },
});
