import type { ReportedUsage } from '../chat-chunks.js';

/** Surfaces an upstream may speak itself. */
export type NativeSurfaceName = 'responses' | 'messages';

type Json = Record<string, unknown>;
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});

/**
 * Usage of a native answer, normalised the OpenAI way: Responses' `input_tokens` already includes cached
 * reads; Anthropic's leaves cache reads and writes out, so they are added to the prompt here, once.
 */
export function nativeUsage(surface: NativeSurfaceName, usage: unknown): ReportedUsage | null {
  const u = obj(usage);
  const input = num(u.input_tokens);
  const output = num(u.output_tokens);
  if (input === undefined || output === undefined) return null;
  if (surface === 'responses') {
    const cached = num(obj(u.input_tokens_details).cached_tokens) ?? 0;
    return { promptTokens: input, completionTokens: output, ...(cached > 0 ? { cachedTokens: cached } : {}) };
  }
  const read = num(u.cache_read_input_tokens) ?? 0;
  const written = num(u.cache_creation_input_tokens) ?? 0;
  return {
    promptTokens: input + read + written,
    completionTokens: output,
    ...(read > 0 ? { cachedTokens: read } : {}),
    ...(written > 0 ? { cacheWriteTokens: written } : {}),
  };
}

/** Generated text of a native answer (text and tool arguments), for token estimates. */
export function nativeCompletionText(surface: NativeSurfaceName, body: Json): string {
  const parts: string[] = [];
  if (surface === 'responses')
    for (const item of Array.isArray(body.output) ? (body.output as Json[]) : []) {
      if (typeof item.arguments === 'string') parts.push(item.arguments);
      for (const c of Array.isArray(item.content) ? (item.content as Json[]) : [])
        if (typeof c.text === 'string') parts.push(c.text);
    }
  else
    for (const block of Array.isArray(body.content) ? (body.content as Json[]) : []) {
      if (typeof block.text === 'string') parts.push(block.text);
      if (block.type === 'tool_use') parts.push(JSON.stringify(block.input ?? {}));
    }
  return parts.join('');
}

/**
 * Follows a native event stream for metering: the generated text as it comes, and the usage the
 * closing events report (Responses: `response.completed`; Anthropic: `message_start` for the input,
 * `message_delta` for the cumulative output).
 */
export class NativeStreamReader {
  usage: ReportedUsage | null = null;
  private anthropicUsage: Json = {};

  constructor(private readonly surface: NativeSurfaceName) {}

  read(event: Json, texts: string[]): void {
    const type = event.type;
    if (this.surface === 'responses') {
      if (
        (type === 'response.output_text.delta' || type === 'response.function_call_arguments.delta') &&
        typeof event.delta === 'string'
      )
        texts.push(event.delta);
      if (type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed') {
        const usage = nativeUsage('responses', obj(event.response).usage);
        if (usage) this.usage = usage;
      }
      return;
    }
    if (type === 'content_block_delta') {
      const delta = obj(event.delta);
      if (typeof delta.text === 'string') texts.push(delta.text);
      if (typeof delta.partial_json === 'string') texts.push(delta.partial_json);
    }
    const usage =
      type === 'message_start'
        ? obj(obj(event.message).usage)
        : type === 'message_delta'
          ? obj(event.usage)
          : null;
    if (!usage) return;
    for (const [k, v] of Object.entries(usage)) if (typeof v === 'number') this.anthropicUsage[k] = v;
    if (type === 'message_delta') this.usage = nativeUsage('messages', this.anthropicUsage);
  }
}
