/**
 * The parts of Chat Completions answers the surface translators read. Upstreams are untrusted, so every
 * field is optional and checked where it is used.
 */
export interface ChatUsage {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  total_tokens?: unknown;
  prompt_tokens_details?: { cached_tokens?: unknown } | null;
  completion_tokens_details?: { reasoning_tokens?: unknown } | null;
}

export interface ChatToolCall {
  id?: unknown;
  type?: unknown;
  function?: { name?: unknown; arguments?: unknown } | null;
}

export interface ChatToolCallDelta extends ChatToolCall {
  index?: unknown;
}

export interface ChatAnswer {
  id?: unknown;
  choices?: Array<{
    index?: unknown;
    message?: {
      content?: unknown;
      refusal?: unknown;
      reasoning_content?: unknown;
      tool_calls?: ChatToolCall[] | null;
    } | null;
    finish_reason?: unknown;
    /** vLLM's matched stop string (or token id) when `finish_reason` is `stop`. */
    stop_reason?: unknown;
  }>;
  usage?: ChatUsage | null;
}

export interface ChatChunk {
  id?: unknown;
  choices?: Array<{
    index?: unknown;
    delta?: {
      content?: unknown;
      refusal?: unknown;
      reasoning_content?: unknown;
      tool_calls?: ChatToolCallDelta[] | null;
    } | null;
    finish_reason?: unknown;
    stop_reason?: unknown;
  }>;
  usage?: ChatUsage | null;
}

/** Token counts normalised once: `input` includes cached reads, as OpenAI counts `prompt_tokens`. */
export interface NormalUsage {
  input: number;
  output: number;
  cachedInput: number;
  reasoning: number;
}

const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0);

/** The usage of a chat answer, or null when it reported none. */
export function normalUsage(u: ChatUsage | null | undefined): NormalUsage | null {
  if (!u || typeof u.prompt_tokens !== 'number' || typeof u.completion_tokens !== 'number') return null;
  return {
    input: count(u.prompt_tokens),
    output: count(u.completion_tokens),
    cachedInput: count(u.prompt_tokens_details?.cached_tokens),
    reasoning: count(u.completion_tokens_details?.reasoning_tokens),
  };
}

/** A tool call the model made, complete. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** Why generation stopped, in Chat Completions' words. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

export function finishReasonOf(v: unknown, hasToolCalls: boolean): FinishReason {
  if (v === 'length' || v === 'content_filter' || v === 'tool_calls') return v;
  if (v === 'function_call') return 'tool_calls';
  // Some servers say `stop` after a tool call.
  return hasToolCalls ? 'tool_calls' : 'stop';
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** The first choice of a non-streamed answer, as plain values. */
export function firstChoice(answer: ChatAnswer): {
  text: string;
  refusal: string;
  reasoning: string;
  toolCalls: ToolCall[];
  finish: FinishReason;
  stopReason: unknown;
} {
  const choice = answer.choices?.[0];
  const m = choice?.message ?? {};
  const toolCalls = (Array.isArray(m.tool_calls) ? m.tool_calls : []).map((t, i) => ({
    id: str(t.id) || `call_${i}`,
    name: str(t.function?.name),
    arguments: str(t.function?.arguments),
  }));
  return {
    text: str(m.content),
    refusal: str(m.refusal),
    reasoning: str(m.reasoning_content),
    toolCalls,
    finish: finishReasonOf(choice?.finish_reason, toolCalls.length > 0),
    stopReason: choice?.stop_reason,
  };
}

/** One step of a streamed first choice, as the surface stream translators consume it. */
export type ChatStreamStep =
  | { kind: 'text'; delta: string }
  | { kind: 'reasoning'; delta: string }
  | { kind: 'tool_start'; index: number; id: string; name: string }
  | { kind: 'tool_args'; index: number; delta: string };

/**
 * Reads a chat chunk stream of the first choice into steps, and remembers how it ended (finish reason,
 * usage). Tool calls are announced once their name is known; arguments that arrive earlier are held.
 */
export class ChatStreamReader {
  finish: FinishReason | null = null;
  stopReason: unknown = undefined;
  usage: NormalUsage | null = null;
  private readonly calls = new Map<number, { id: string; name: string; started: boolean; held: string }>();
  private sawToolCall = false;

  read(chunk: ChatChunk): ChatStreamStep[] {
    const steps: ChatStreamStep[] = [];
    const u = normalUsage(chunk.usage);
    if (u) this.usage = u;
    for (const choice of chunk.choices ?? []) {
      if (count(choice.index) !== 0) continue;
      const d = choice.delta ?? {};
      if (typeof d.reasoning_content === 'string' && d.reasoning_content !== '')
        steps.push({ kind: 'reasoning', delta: d.reasoning_content });
      if (typeof d.content === 'string' && d.content !== '') steps.push({ kind: 'text', delta: d.content });
      if (typeof d.refusal === 'string' && d.refusal !== '') steps.push({ kind: 'text', delta: d.refusal });
      for (const t of Array.isArray(d.tool_calls) ? d.tool_calls : []) this.readToolCall(t, steps);
      if (choice.finish_reason !== null && choice.finish_reason !== undefined) {
        this.finish = finishReasonOf(choice.finish_reason, this.sawToolCall);
        this.stopReason = choice.stop_reason;
      }
    }
    return steps;
  }

  private readToolCall(t: ChatToolCallDelta, steps: ChatStreamStep[]): void {
    this.sawToolCall = true;
    const index = count(t.index);
    let call = this.calls.get(index);
    if (!call) {
      call = { id: '', name: '', started: false, held: '' };
      this.calls.set(index, call);
    }
    if (typeof t.id === 'string' && t.id !== '') call.id = t.id;
    if (typeof t.function?.name === 'string') call.name += t.function.name;
    const args = str(t.function?.arguments);
    if (!call.started && call.name !== '') {
      call.started = true;
      steps.push({ kind: 'tool_start', index, id: call.id || `call_${index}`, name: call.name });
      if (call.held !== '') steps.push({ kind: 'tool_args', index, delta: call.held });
      call.held = '';
    }
    if (args === '') return;
    if (call.started) steps.push({ kind: 'tool_args', index, delta: args });
    else call.held += args;
  }
}
