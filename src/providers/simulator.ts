import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProviderAdapter, UpstreamCall, UpstreamJsonResult, UpstreamStreamResult } from './types.js';

/**
 * A built-in, deterministic stand-in for a model server, for sandboxes and demos: it answers every
 * catalog model without any weights. Same input, same output; one "token" per word.
 */
export class SimulatorProvider implements ProviderAdapter {
  readonly type = 'simulator';

  constructor(
    readonly id: string,
    private readonly tokenDelayMs = 0,
  ) {}

  async chatCompletion(call: UpstreamCall): Promise<UpstreamJsonResult> {
    const { body } = call;
    const answer = planAnswer(body);
    return {
      ok: true,
      status: 200,
      body: {
        id: completionId(call.requestId),
        object: 'chat.completion',
        created: nowSeconds(),
        model: String(body.model),
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: answer.tokens.join(''), refusal: null },
            logprobs: null,
            finish_reason: answer.finishReason,
          },
        ],
        usage: usageOf(answer.promptTokens, answer.tokens.length),
        system_fingerprint: 'simulator',
      },
    };
  }

  async chatCompletionStream(call: UpstreamCall): Promise<UpstreamStreamResult> {
    return { ok: true, events: this.streamEvents(call) };
  }

  async embeddings(call: UpstreamCall): Promise<UpstreamJsonResult> {
    const input = call.body.input;
    const inputs = Array.isArray(input) ? input : [input];
    const texts = inputs.map((i) => (typeof i === 'string' ? i : JSON.stringify(i)));
    const dimensions = typeof call.body.dimensions === 'number' ? call.body.dimensions : 16;
    const promptTokens = texts.reduce((n, t) => n + countWords(t), 0);
    return {
      ok: true,
      status: 200,
      body: {
        object: 'list',
        data: texts.map((text, index) => ({
          object: 'embedding',
          index,
          embedding: embed(text, dimensions),
        })),
        model: String(call.body.model),
        usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
      },
    };
  }

  async close(): Promise<void> {}

  private async *streamEvents(call: UpstreamCall): AsyncGenerator<string> {
    const { body, signal } = call;
    const answer = planAnswer(body);
    const base = {
      id: completionId(call.requestId),
      object: 'chat.completion.chunk',
      created: nowSeconds(),
      model: String(body.model),
    };
    const includeUsage =
      (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
    const chunk = (delta: Record<string, unknown>, finishReason: string | null) =>
      JSON.stringify({
        ...base,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
        ...(includeUsage ? { usage: null } : {}),
      });

    yield chunk({ role: 'assistant', content: '' }, null);
    for (const token of answer.tokens) {
      if (this.tokenDelayMs > 0) await sleep(this.tokenDelayMs, undefined, { signal });
      if (signal.aborted) return;
      yield chunk({ content: token }, null);
    }
    yield chunk({}, answer.finishReason);
    if (includeUsage)
      yield JSON.stringify({
        ...base,
        choices: [],
        usage: usageOf(answer.promptTokens, answer.tokens.length),
      });
  }
}

interface PlannedAnswer {
  tokens: string[];
  promptTokens: number;
  finishReason: 'stop' | 'length';
}

/** Decides the whole answer up front, so streamed and non-streamed answers are identical. */
function planAnswer(body: Record<string, unknown>): PlannedAnswer {
  const messages = Array.isArray(body.messages) ? (body.messages as Array<Record<string, unknown>>) : [];
  const promptText = messages.map((m) => textOf(m.content)).join(' ');
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const question = textOf(lastUser?.content).trim().replace(/\s+/g, ' ').slice(0, 200);
  const sentence = question
    ? `Hello! This is the SIMOSphere simulator. You said: "${question}". Configure an upstream to get real answers.`
    : 'Hello! This is the SIMOSphere simulator. Configure an upstream to get real answers.';
  const words = sentence.split(' ');
  const all = words.map((w, i) => (i < words.length - 1 ? `${w} ` : w));
  const limit = maxTokensOf(body);
  const tokens = limit !== undefined && limit < all.length ? all.slice(0, limit) : all;
  return {
    tokens,
    promptTokens: countWords(promptText) + 3 * messages.length,
    finishReason: tokens.length < all.length ? 'length' : 'stop',
  };
}

function maxTokensOf(body: Record<string, unknown>): number | undefined {
  const v = body.max_completion_tokens ?? body.max_tokens;
  return typeof v === 'number' && v >= 0 ? v : undefined;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content
      .map((p) =>
        p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string'
          ? (p as { text: string }).text
          : '',
      )
      .join(' ');
  return '';
}

const countWords = (text: string) => (text.trim() === '' ? 0 : text.trim().split(/\s+/).length);

const usageOf = (prompt: number, completion: number) => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
});

const nowSeconds = () => Math.floor(Date.now() / 1000);
const completionId = (requestId: string) => `chatcmpl-${requestId.replace(/[^A-Za-z0-9]/g, '').slice(-24)}`;

/** A unit vector derived from the text's hash: stable across runs, different across texts. */
function embed(text: string, dimensions: number): number[] {
  const values: number[] = [];
  let block = createHash('sha256').update(text).digest();
  while (values.length < dimensions) {
    for (let i = 0; i + 1 < block.length && values.length < dimensions; i += 2)
      values.push(block.readInt16BE(i) / 32768);
    block = createHash('sha256').update(block).digest();
  }
  const norm = Math.hypot(...values) || 1;
  return values.map((v) => Number((v / norm).toFixed(6)));
}
