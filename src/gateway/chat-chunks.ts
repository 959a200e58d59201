import { editObject, type ObjectLayout, objectLayout, valueText } from '../shared/json-members.js';
import type { ChatChunk as TranslatedChunk } from './translate/chat-shapes.js';

/** A `chat.completion.chunk` as an upstream sends it; every field is optional, unknown ones pass through. */
export interface ChatChunk extends TranslatedChunk {
  model?: unknown;
  /** An upstream that fails mid-stream may say so in an event of its own. */
  error?: unknown;
}

/**
 * Token counts an upstream reported, when it reported both; OpenAI's `prompt_tokens` includes the
 * cached reads, which `cachedTokens` repeats so they can be priced apart.
 */
export interface ReportedUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens?: number;
  cacheWriteTokens?: number;
}

/** An upstream event's chunk; undefined for keep-alives and vendor comments, which carry nothing. */
export function parseChunk(data: string): ChatChunk | undefined {
  try {
    const chunk = JSON.parse(data) as unknown;
    return chunk !== null && typeof chunk === 'object' ? (chunk as ChatChunk) : undefined;
  } catch {
    return undefined;
  }
}

/** The usage of a chunk or answer, when it carries both counts. */
export function reportedUsage(
  usage:
    | {
        prompt_tokens?: unknown;
        completion_tokens?: unknown;
        prompt_tokens_details?: { cached_tokens?: unknown } | null;
      }
    | null
    | undefined,
): ReportedUsage | null {
  if (!usage || typeof usage.prompt_tokens !== 'number' || typeof usage.completion_tokens !== 'number')
    return null;
  const cached = usage.prompt_tokens_details?.cached_tokens;
  return {
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    ...(typeof cached === 'number' && cached > 0 ? { cachedTokens: cached } : {}),
  };
}

/** The text of a chunk's deltas (content, refusals, tool-call arguments), pushed onto `into`. */
export function collectDeltaText(chunk: ChatChunk, into: string[]): void {
  const choices = chunk.choices;
  if (!choices) return;
  for (const choice of choices) {
    const d = choice.delta;
    if (!d) continue;
    if (typeof d.content === 'string') into.push(d.content);
    if (typeof d.refusal === 'string') into.push(d.refusal);
    if (d.tool_calls)
      for (const call of d.tool_calls)
        if (typeof call.function?.arguments === 'string') into.push(call.function.arguments);
  }
}

/** The text content of a chunk's deltas, for surfaces that relay plain text. */
export function contentDelta(chunk: ChatChunk): string {
  const choices = chunk.choices;
  if (!choices) return '';
  let text = '';
  for (const choice of choices) {
    const content = choice.delta?.content;
    if (typeof content === 'string') text += content;
  }
  return text;
}

/** True for the usage-only chunk the gateway asks for itself (no choices). */
export function isUsageOnly(chunk: ChatChunk): boolean {
  return chunk.usage != null && (chunk.choices?.length ?? 0) === 0;
}

/** Generated text of a whole answer (content, refusals, tool-call arguments), for token estimates. */
export function completionTextOf(answer: Record<string, unknown>): string {
  const choices = Array.isArray(answer.choices)
    ? (answer.choices as Array<{ message?: Record<string, unknown> }>)
    : [];
  return choices
    .map((ch) => {
      const m = ch.message ?? {};
      const calls = Array.isArray(m.tool_calls)
        ? (m.tool_calls as Array<{ function?: { arguments?: unknown } }>)
        : [];
      return [m.content, m.refusal, ...calls.map((t) => t.function?.arguments)]
        .filter((v) => typeof v === 'string')
        .join('');
    })
    .join('');
}

/** The text of a whole answer's first message, for surfaces that answer with plain text. */
export function answerText(answer: Record<string, unknown>): string {
  const choice = (answer.choices as Array<{ message?: { content?: unknown } }> | undefined)?.[0];
  return typeof choice?.message?.content === 'string' ? choice.message.content : '';
}

/** The top-level keys a relay passing chunks on as text looks at. */
const PLAIN_CHUNK_KEYS = ['model', 'usage', 'error'] as const;

/**
 * Where the members of a chunk the relay may pass on without parsing it sit in its text; undefined when
 * it must be parsed: its top level carries usage or an `error`, it is not one well-formed object, or
 * it spans lines (SSE framing would need every line prefixed; JSON never needs a raw line break).
 */
export function plainChunkLayout(data: string): ObjectLayout | undefined {
  if (data.includes('\n') || data.includes('\r')) return undefined;
  const layout = objectLayout(data, PLAIN_CHUNK_KEYS);
  if (layout === undefined) return undefined;
  const [, usage, error] = layout.members;
  if (error !== undefined) return undefined;
  if (usage !== undefined && valueText(data, usage) !== 'null') return undefined;
  return layout;
}

/**
 * A chunk passed on as text, as the parsed one would be rendered: `model` set to `modelJson` (the public
 * id, as JSON), and its `usage: null` dropped unless the client asked for usage. Other bytes are kept.
 */
export function renderPlainChunk(
  data: string,
  layout: ObjectLayout,
  modelJson: string,
  keepUsage: boolean,
): string {
  const [model, usage] = layout.members;
  const drop = keepUsage ? undefined : usage;
  // The common case: the upstream already names the model as the client knows it.
  if (model !== undefined && drop === undefined && valueText(data, model) === modelJson) return data;
  return editObject(data, layout, { set: { key: 'model', member: model, json: modelJson }, drop });
}
