import { randomBase62 } from '../../shared/ids.js';
import {
  type ChatAnswer,
  type ChatChunk,
  ChatStreamReader,
  type FinishReason,
  firstChoice,
  type NormalUsage,
} from './chat-shapes.js';

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'refusal';

export type ContentBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown };

export const newMessageId = () => `msg_${randomBase62(24)}`;

/** Anthropic's stop reason; a matched stop sequence is named when the upstream said which one. */
export function stopReasonOf(
  finish: FinishReason | null,
  stopReason: unknown,
  stopSequences: readonly string[] | undefined,
): { stop_reason: StopReason; stop_sequence: string | null } {
  if (finish === 'tool_calls') return { stop_reason: 'tool_use', stop_sequence: null };
  if (finish === 'length') return { stop_reason: 'max_tokens', stop_sequence: null };
  if (finish === 'content_filter') return { stop_reason: 'refusal', stop_sequence: null };
  if (typeof stopReason === 'string' && stopSequences?.includes(stopReason))
    return { stop_reason: 'stop_sequence', stop_sequence: stopReason };
  return { stop_reason: 'end_turn', stop_sequence: null };
}

/**
 * Usage in Anthropic's shape. Anthropic's `input_tokens` excludes cache reads (they are
 * `cache_read_input_tokens`), whereas OpenAI's `prompt_tokens` includes them: subtracted here, once.
 */
export function messagesUsage(u: NormalUsage | null) {
  const cached = u ? Math.min(u.cachedInput, u.input) : 0;
  return {
    input_tokens: u ? u.input - cached : 0,
    output_tokens: u?.output ?? 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}

/** Tool arguments as the object Anthropic's `input` is; arguments that are not JSON are kept as text. */
export function toolInput(args: string): unknown {
  if (args.trim() === '') return {};
  try {
    return JSON.parse(args) as unknown;
  } catch {
    return { arguments: args };
  }
}

/** The `message` object of a non-streamed answer. */
export function messageOfChat(
  answer: ChatAnswer,
  opts: {
    id: string;
    model: string;
    stopSequences?: readonly string[] | undefined;
    usage: NormalUsage | null;
  },
): Record<string, unknown> {
  const c = firstChoice(answer);
  const content: ContentBlock[] = [];
  const text = c.text || c.refusal;
  if (text !== '') content.push({ type: 'text', text });
  for (const call of c.toolCalls)
    content.push({
      type: 'tool_use',
      id: toolUseId(call.id),
      name: call.name,
      input: toolInput(call.arguments),
    });
  return {
    id: opts.id,
    type: 'message',
    role: 'assistant',
    model: opts.model,
    content,
    ...stopReasonOf(c.finish, c.stopReason, opts.stopSequences),
    usage: messagesUsage(opts.usage),
  };
}

/** Anthropic tool-use ids start with `toolu_`; an upstream's own id is kept inside it to stay unique. */
export const toolUseId = (id: string) =>
  id.startsWith('toolu_') ? id : `toolu_${id.replace(/[^A-Za-z0-9_-]/g, '')}`;

export interface MessageEvent {
  type: string;
  [field: string]: unknown;
}

/**
 * Turns a streamed chat answer into Anthropic's event sequence: `message_start`, `ping`, per content
 * block `content_block_start` / `_delta` / `_stop`, then `message_delta` (stop reason and usage) and
 * `message_stop`.
 */
export class MessagesStreamTranslator {
  readonly reader = new ChatStreamReader();
  private blocks = 0;
  private open: { index: number; kind: 'text' | 'tool'; chatIndex: number } | null = null;

  constructor(
    private readonly id: string,
    private readonly model: string,
    private readonly stopSequences: readonly string[] | undefined,
  ) {}

  start(): MessageEvent[] {
    return [
      {
        type: 'message_start',
        message: {
          id: this.id,
          type: 'message',
          role: 'assistant',
          model: this.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          // Known only at the end, where `message_delta` reports it.
          usage: messagesUsage(null),
        },
      },
      { type: 'ping' },
    ];
  }

  chunk(chunk: ChatChunk): MessageEvent[] {
    const events: MessageEvent[] = [];
    for (const s of this.reader.read(chunk)) {
      if (s.kind === 'reasoning') continue;
      if (s.kind === 'text') {
        if (this.open?.kind !== 'text')
          events.push(...this.close(), this.startBlock('text', 0, { type: 'text', text: '' }));
        events.push({
          type: 'content_block_delta',
          index: this.open!.index,
          delta: { type: 'text_delta', text: s.delta },
        });
      } else if (s.kind === 'tool_start') {
        events.push(
          ...this.close(),
          this.startBlock('tool', s.index, {
            type: 'tool_use',
            id: toolUseId(s.id),
            name: s.name,
            input: {},
          }),
        );
      } else if (this.open?.kind === 'tool' && this.open.chatIndex === s.index) {
        events.push({
          type: 'content_block_delta',
          index: this.open.index,
          delta: { type: 'input_json_delta', partial_json: s.delta },
        });
      }
    }
    return events;
  }

  private startBlock(kind: 'text' | 'tool', chatIndex: number, block: ContentBlock): MessageEvent {
    this.open = { index: this.blocks++, kind, chatIndex };
    return { type: 'content_block_start', index: this.open.index, content_block: block };
  }

  private close(): MessageEvent[] {
    if (!this.open) return [];
    const index = this.open.index;
    this.open = null;
    return [{ type: 'content_block_stop', index }];
  }

  /** The closing events once the upstream stream ended normally. */
  finish(): MessageEvent[] {
    const r = this.reader;
    return [
      ...this.close(),
      {
        type: 'message_delta',
        delta: stopReasonOf(r.finish, r.stopReason, this.stopSequences),
        usage: messagesUsage(r.usage),
      },
      { type: 'message_stop' },
    ];
  }
}
