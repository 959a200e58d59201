import { randomBase62 } from '../../shared/ids.js';
import {
  type ChatAnswer,
  ChatStreamReader,
  type ChatStreamStep,
  type FinishReason,
  firstChoice,
  type NormalUsage,
  type ToolCall,
} from './chat-shapes.js';
import type { ResponsesRequest } from './responses-request.js';

/** An output item of a response, as the Responses API shows it. */
export type ResponseOutputItem =
  | {
      type: 'message';
      id: string;
      status: 'in_progress' | 'completed' | 'incomplete';
      role: 'assistant';
      content: Array<{ type: 'output_text'; text: string; annotations: []; logprobs: [] }>;
    }
  | {
      type: 'function_call';
      id: string;
      call_id: string;
      name: string;
      arguments: string;
      status: 'in_progress' | 'completed' | 'incomplete';
    };

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

/** What a response is made of, besides its request. */
export interface ResponseParts {
  id: string;
  createdAt: number;
  model: string;
  status: ResponseStatus;
  output: ResponseOutputItem[];
  usage: NormalUsage | null;
  finish?: FinishReason | null;
  error?: { code: string; message: string } | null;
  store: boolean;
}

export const newResponseId = () => `resp_${randomBase62(24)}`;
const newItemId = (prefix: 'msg' | 'fc') => `${prefix}_${randomBase62(24)}`;

/** The `response` object, echoing the request's settings as OpenAI does. */
export function responseObject(req: ResponsesRequest, p: ResponseParts): Record<string, unknown> {
  const incomplete =
    p.status === 'incomplete'
      ? { reason: p.finish === 'content_filter' ? 'content_filter' : 'max_output_tokens' }
      : null;
  return {
    id: p.id,
    object: 'response',
    created_at: p.createdAt,
    status: p.status,
    background: false,
    error: p.error ?? null,
    incomplete_details: incomplete,
    instructions: req.instructions ?? null,
    max_output_tokens: req.max_output_tokens ?? null,
    model: p.model,
    output: p.output,
    parallel_tool_calls: req.parallel_tool_calls ?? true,
    previous_response_id: req.previous_response_id ?? null,
    reasoning: { effort: req.reasoning?.effort ?? null, summary: req.reasoning?.summary ?? null },
    store: p.store,
    temperature: req.temperature ?? 1,
    text: { format: req.text?.format ?? { type: 'text' } },
    tool_choice: req.tool_choice ?? 'auto',
    tools: req.tools ?? [],
    top_p: req.top_p ?? 1,
    truncation: 'disabled',
    usage: p.usage ? responseUsage(p.usage) : null,
    user: req.user ?? null,
    metadata: req.metadata ?? {},
  };
}

/** Usage in the Responses shape; `input_tokens` includes cached reads, as OpenAI counts them. */
export function responseUsage(u: NormalUsage) {
  return {
    input_tokens: u.input,
    input_tokens_details: { cached_tokens: u.cachedInput },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: u.reasoning },
    total_tokens: u.input + u.output,
  };
}

export function statusOf(finish: FinishReason | null): ResponseStatus {
  return finish === 'length' || finish === 'content_filter' ? 'incomplete' : 'completed';
}

/** The output items of a non-streamed chat answer. */
export function outputOfChat(answer: ChatAnswer): { output: ResponseOutputItem[]; finish: FinishReason } {
  const c = firstChoice(answer);
  const output: ResponseOutputItem[] = [];
  const text = c.text || c.refusal;
  const status = statusOf(c.finish) === 'completed' ? 'completed' : 'incomplete';
  if (text !== '' || c.toolCalls.length === 0)
    output.push({
      type: 'message',
      id: newItemId('msg'),
      status,
      role: 'assistant',
      content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
    });
  for (const call of c.toolCalls) output.push(functionCallItem(call, 'completed'));
  return { output, finish: c.finish };
}

function functionCallItem(call: ToolCall, status: 'in_progress' | 'completed'): ResponseOutputItem {
  return {
    type: 'function_call',
    id: newItemId('fc'),
    call_id: call.id,
    name: call.name,
    arguments: call.arguments,
    status,
  };
}

/** One server-sent event of the Responses stream. */
export interface ResponseEvent {
  type: string;
  sequence_number: number;
  [field: string]: unknown;
}

/**
 * Turns a streamed chat answer into the Responses event sequence: `response.created`,
 * `response.in_progress`, per output item `response.output_item.added`, its deltas and `.done` events,
 * and finally `response.completed` (or `.incomplete`, or `.failed`), numbered from 0.
 */
export class ResponsesStreamTranslator {
  readonly reader = new ChatStreamReader();
  private seq = 0;
  private readonly output: ResponseOutputItem[] = [];
  private text: { item: Extract<ResponseOutputItem, { type: 'message' }>; index: number } | null = null;
  private readonly calls = new Map<
    number,
    { item: Extract<ResponseOutputItem, { type: 'function_call' }>; index: number; open: boolean }
  >();
  private finished: Record<string, unknown> | null = null;

  constructor(
    private readonly req: ResponsesRequest,
    private readonly id: string,
    private readonly createdAt: number,
    private readonly model: string,
    private readonly store: boolean,
  ) {}

  private event(type: string, fields: Record<string, unknown>): ResponseEvent {
    return { type, sequence_number: this.seq++, ...fields };
  }

  private snapshot(status: ResponseStatus, extra: Partial<ResponseParts> = {}) {
    return responseObject(this.req, {
      id: this.id,
      createdAt: this.createdAt,
      model: this.model,
      status,
      output: status === 'in_progress' ? [] : this.output,
      usage: status === 'in_progress' ? null : this.reader.usage,
      finish: this.reader.finish,
      store: this.store,
      ...extra,
    });
  }

  start(): ResponseEvent[] {
    const response = this.snapshot('in_progress');
    return [this.event('response.created', { response }), this.event('response.in_progress', { response })];
  }

  /** Events for one upstream chunk. */
  chunk(chunk: Parameters<ChatStreamReader['read']>[0]): ResponseEvent[] {
    return this.reader.read(chunk).flatMap((s) => this.step(s));
  }

  private step(s: ChatStreamStep): ResponseEvent[] {
    if (s.kind === 'reasoning') return [];
    if (s.kind === 'text') {
      const events: ResponseEvent[] = [];
      if (!this.text) events.push(...this.openText());
      const t = this.text!;
      const part = t.item.content[0]!;
      part.text += s.delta;
      events.push(
        this.event('response.output_text.delta', {
          item_id: t.item.id,
          output_index: t.index,
          content_index: 0,
          delta: s.delta,
          logprobs: [],
        }),
      );
      return events;
    }
    if (s.kind === 'tool_start') {
      const events = this.closeText('completed');
      const item = functionCallItem({ id: s.id, name: s.name, arguments: '' }, 'in_progress') as Extract<
        ResponseOutputItem,
        { type: 'function_call' }
      >;
      const index = this.output.push(item) - 1;
      this.calls.set(s.index, { item, index, open: true });
      events.push(this.event('response.output_item.added', { output_index: index, item: { ...item } }));
      return events;
    }
    const call = this.calls.get(s.index);
    if (!call) return [];
    call.item.arguments += s.delta;
    return [
      this.event('response.function_call_arguments.delta', {
        item_id: call.item.id,
        output_index: call.index,
        delta: s.delta,
      }),
    ];
  }

  private openText(): ResponseEvent[] {
    const item: Extract<ResponseOutputItem, { type: 'message' }> = {
      type: 'message',
      id: newItemId('msg'),
      status: 'in_progress',
      role: 'assistant',
      content: [],
    };
    const index = this.output.push(item) - 1;
    this.text = { item, index };
    const events = [
      this.event('response.output_item.added', { output_index: index, item: { ...item, content: [] } }),
    ];
    item.content.push({ type: 'output_text', text: '', annotations: [], logprobs: [] });
    events.push(
      this.event('response.content_part.added', {
        item_id: item.id,
        output_index: index,
        content_index: 0,
        part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
      }),
    );
    return events;
  }

  private closeText(status: 'completed' | 'incomplete'): ResponseEvent[] {
    const t = this.text;
    if (!t) return [];
    this.text = null;
    const part = t.item.content[0]!;
    t.item.status = status;
    return [
      this.event('response.output_text.done', {
        item_id: t.item.id,
        output_index: t.index,
        content_index: 0,
        text: part.text,
        logprobs: [],
      }),
      this.event('response.content_part.done', {
        item_id: t.item.id,
        output_index: t.index,
        content_index: 0,
        part: { ...part },
      }),
      this.event('response.output_item.done', { output_index: t.index, item: structuredClone(t.item) }),
    ];
  }

  private closeCalls(status: 'completed' | 'incomplete'): ResponseEvent[] {
    const events: ResponseEvent[] = [];
    for (const call of this.calls.values()) {
      if (!call.open) continue;
      call.open = false;
      call.item.status = status;
      events.push(
        this.event('response.function_call_arguments.done', {
          item_id: call.item.id,
          output_index: call.index,
          name: call.item.name,
          arguments: call.item.arguments,
        }),
        this.event('response.output_item.done', { output_index: call.index, item: { ...call.item } }),
      );
    }
    return events;
  }

  /**
   * The closing events once the upstream stream ended; `error` when it failed part-way (the response
   * then ends with `response.failed`).
   */
  finish(error?: { code: string; message: string }): ResponseEvent[] {
    const status: ResponseStatus = error ? 'failed' : statusOf(this.reader.finish);
    const itemStatus = status === 'completed' ? 'completed' : 'incomplete';
    // A stream that produced nothing still answers with an (empty) message, like the JSON answer.
    const events = !error && this.output.length === 0 ? this.openText() : [];
    events.push(...this.closeText(itemStatus), ...this.closeCalls(itemStatus));
    const response = this.snapshot(status, error ? { error } : {});
    this.finished = response;
    const type =
      status === 'failed'
        ? 'response.failed'
        : status === 'incomplete'
          ? 'response.incomplete'
          : 'response.completed';
    events.push(this.event(type, { response }));
    return events;
  }

  /** The final response object (after `finish`). */
  result(): Record<string, unknown> | null {
    return this.finished;
  }

  /** Output items so far (for storing a response the client left before it ended). */
  outputItems(): ResponseOutputItem[] {
    return this.output;
  }
}

/** One event in SSE framing. */
export const sseEvent = (e: { type: string }) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
