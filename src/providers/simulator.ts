import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProviderAdapter, UpstreamCall, UpstreamJsonResult, UpstreamStreamResult } from './types.js';

/**
 * A built-in, deterministic stand-in for a model server, for sandboxes and demos: it answers every
 * catalog model without any weights. Same input, same output; one "token" per word.
 */
export class SimulatorProvider implements ProviderAdapter {
  readonly type = 'simulator';
  readonly nativeSurfaces = [] as const;

  constructor(
    readonly id: string,
    private readonly tokenDelayMs = 0,
  ) {}

  async chatCompletion(call: UpstreamCall): Promise<UpstreamJsonResult> {
    const { body } = call;
    const answer = planAnswer(body);
    const message = answer.toolCall
      ? {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [toolCallOf(answer.toolCall, call.requestId)],
        }
      : { role: 'assistant', content: answer.tokens.join(''), refusal: null };
    return {
      ok: true,
      status: 200,
      body: {
        id: completionId(call.requestId),
        object: 'chat.completion',
        created: nowSeconds(),
        model: String(body.model),
        choices: [{ index: 0, message, logprobs: null, finish_reason: answer.finishReason }],
        usage: usageOf(
          answer.promptTokens,
          answer.toolCall ? completionOfCall(answer.toolCall) : answer.tokens.length,
        ),
        system_fingerprint: 'simulator',
      },
    };
  }

  async chatCompletionStream(call: UpstreamCall): Promise<UpstreamStreamResult> {
    return { ok: true, events: oneByOne(this.streamEvents(call)) };
  }

  async embeddings(call: UpstreamCall): Promise<UpstreamJsonResult> {
    const input = call.body.input;
    // One token-id array is one input; a list of strings or of token-id arrays is many.
    const inputs = Array.isArray(input) && input.length > 0 && typeof input[0] === 'number' ? [input] : input;
    const texts = (Array.isArray(inputs) ? inputs : [inputs]).map((i) =>
      typeof i === 'string' ? i : JSON.stringify(i),
    );
    const requested = call.body.dimensions;
    const dimensions = typeof requested === 'number' ? requested : DEFAULT_DIMENSIONS;
    if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > MAX_DIMENSIONS)
      return rejected(`'dimensions' must be an integer from 1 to ${MAX_DIMENSIONS}.`, 'dimensions');
    // The whole answer is built and serialised at once: its size is what one request may cost.
    if (texts.length * dimensions > MAX_VALUES)
      return rejected(
        `The simulator returns at most ${MAX_VALUES.toLocaleString('en-US')} embedding values per request (inputs × dimensions); send fewer inputs or fewer dimensions.`,
        typeof requested === 'number' ? 'dimensions' : 'input',
      );
    const base64 = call.body.encoding_format === 'base64';
    const promptTokens = texts.reduce((n, t) => n + countWords(t), 0);
    return {
      ok: true,
      status: 200,
      body: {
        object: 'list',
        data: texts.map((text, index) => {
          const vector = embed(text, dimensions);
          return { object: 'embedding', index, embedding: base64 ? float32Base64(vector) : vector };
        }),
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

    if (answer.toolCall) {
      // Like OpenAI: the call's id and name first, then its arguments.
      const { id, function: fn } = toolCallOf(answer.toolCall, call.requestId);
      yield chunk(
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ index: 0, id, type: 'function', function: { name: fn.name, arguments: '' } }],
        },
        null,
      );
      yield chunk({ tool_calls: [{ index: 0, function: { arguments: fn.arguments } }] }, null);
    } else yield chunk({ role: 'assistant', content: '' }, null);
    for (const token of answer.tokens) {
      // Node's timers read only `aborted`, `reason` and the listener methods, which every CancelSignal has.
      if (this.tokenDelayMs > 0) await sleep(this.tokenDelayMs, undefined, { signal: signal as AbortSignal });
      if (signal.aborted) return;
      yield chunk({ content: token }, null);
    }
    yield chunk({}, answer.finishReason);
    if (includeUsage)
      yield JSON.stringify({
        ...base,
        choices: [],
        usage: usageOf(
          answer.promptTokens,
          answer.toolCall ? completionOfCall(answer.toolCall) : answer.tokens.length,
        ),
      });
  }
}

interface PlannedAnswer {
  tokens: string[];
  promptTokens: number;
  finishReason: 'stop' | 'length' | 'tool_calls';
  /** When tools are offered: the one the simulator calls, with its arguments. */
  toolCall?: { name: string; arguments: string };
}

/** Decides the whole answer up front, so streamed and non-streamed answers are identical. */
function planAnswer(body: Record<string, unknown>): PlannedAnswer {
  const messages = Array.isArray(body.messages) ? (body.messages as Array<Record<string, unknown>>) : [];
  const promptText = messages.map((m) => textOf(m.content)).join(' ');
  const toolCall = plannedToolCall(body, messages);
  if (toolCall)
    return {
      tokens: [],
      promptTokens: countWords(promptText) + 3 * messages.length,
      finishReason: 'tool_calls',
      toolCall,
    };
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

/**
 * The simulator calls a tool whenever tools are offered and `tool_choice` is not `none`, unless the
 * last message is a tool result (then it answers in text, so an agent's loop ends): the tool
 * `tool_choice` names, or the first. Its arguments fill the schema's required properties with
 * placeholder values of their type.
 */
function plannedToolCall(
  body: Record<string, unknown>,
  messages: Array<Record<string, unknown>>,
): { name: string; arguments: string } | undefined {
  const tools = Array.isArray(body.tools)
    ? (body.tools as Array<{ function?: Record<string, unknown> }>)
    : [];
  if (tools.length === 0 || body.tool_choice === 'none' || messages.at(-1)?.role === 'tool') return undefined;
  const choice = body.tool_choice as { function?: { name?: unknown } } | undefined;
  const named = typeof choice?.function?.name === 'string' ? choice.function.name : undefined;
  const tool = tools.find((t) => t.function?.name === named) ?? tools[0];
  const fn = tool?.function;
  if (typeof fn?.name !== 'string') return undefined;
  return { name: fn.name, arguments: JSON.stringify(placeholderArguments(fn.parameters)) };
}

function placeholderArguments(schema: unknown): Record<string, unknown> {
  const s = (schema ?? {}) as { properties?: Record<string, { type?: unknown }>; required?: unknown };
  const required = Array.isArray(s.required)
    ? s.required.filter((r): r is string => typeof r === 'string')
    : [];
  const args: Record<string, unknown> = {};
  for (const name of required) {
    const type = s.properties?.[name]?.type;
    args[name] =
      type === 'number' || type === 'integer'
        ? 1
        : type === 'boolean'
          ? true
          : type === 'array'
            ? []
            : type === 'object'
              ? {}
              : 'example';
  }
  return args;
}

const toolCallOf = (t: { name: string; arguments: string }, requestId: string) => ({
  id: `call_${requestId.replace(/[^A-Za-z0-9]/g, '').slice(-16)}`,
  type: 'function',
  function: { name: t.name, arguments: t.arguments },
});

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

/** A tool call's tokens, the simulator's way: its name and one per argument character group. */
const completionOfCall = (t: { name: string; arguments: string }) => 1 + Math.ceil(t.arguments.length / 4);

const countWords = (text: string) => (text.trim() === '' ? 0 : text.trim().split(/\s+/).length);

const usageOf = (prompt: number, completion: number) => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
});

const nowSeconds = () => Math.floor(Date.now() / 1000);
const completionId = (requestId: string) => `chatcmpl-${requestId.replace(/[^A-Za-z0-9]/g, '').slice(-24)}`;

/** Embedding width when the request names none. */
const DEFAULT_DIMENSIONS = 16;
/** The simulated model's widest vector (as wide as the gateway lets any request ask). */
const MAX_DIMENSIONS = 8192;
/** Values per answer (inputs × dimensions): about 1.3 MB of JSON, built in a few milliseconds. */
const MAX_VALUES = 131_072;

/** A 400 of the simulated model server, passed to the client as its own error. */
function rejected(message: string, param: string): UpstreamJsonResult {
  return {
    ok: false,
    failure: {
      kind: 'status',
      status: 400,
      body: { error: { message, type: 'invalid_request_error', param, code: 'invalid_parameter' } },
      message: `simulator refused the request: ${message}`,
      retryable: false,
    },
  };
}

/**
 * A unit vector derived from the text: stable across runs, different across texts, and a shorter
 * vector is the normalised start of a longer one. A small PRNG (sfc32) seeded with the text's SHA-256
 * keeps it linear and cheap in the number of dimensions.
 */
function embed(text: string, dimensions: number): number[] {
  const seed = createHash('sha256').update(text).digest();
  let a = seed.readUInt32LE(0);
  let b = seed.readUInt32LE(4);
  let c = seed.readUInt32LE(8);
  let d = seed.readUInt32LE(12);
  const raw = new Float64Array(dimensions);
  let sumOfSquares = 0;
  for (let i = 0; i < dimensions; i++) {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = ((c << 21) | (c >>> 11)) + t;
    c |= 0;
    const v = (t >>> 0) / 2 ** 31 - 1;
    raw[i] = v;
    sumOfSquares += v * v;
  }
  const norm = Math.sqrt(sumOfSquares) || 1;
  return Array.from(raw, (v) => Math.round((v / norm) * 1e6) / 1e6);
}

/** `encoding_format: "base64"`, as OpenAI sends it: the vector's float32 values, little-endian. */
function float32Base64(vector: readonly number[]): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i]!, i * 4);
  return bytes.toString('base64');
}

/** Each event in a batch of its own: the simulator produces them one at a time. */
async function* oneByOne(events: AsyncGenerator<string>): AsyncGenerator<string[]> {
  for await (const event of events) yield [event];
}
