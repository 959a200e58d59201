/**
 * The surface translators on their own: Responses, Messages and Completions requests into Chat
 * Completions, and chat answers and chunk streams back, tool calls, stop reasons and usage included.
 */
import { describe, expect, it } from 'vitest';
import type { ChatChunk } from '../../src/gateway/translate/chat-shapes.js';
import { completionChunkOfChat, completionsToChat } from '../../src/gateway/translate/completions.js';
import { messagesRequestSchema, messagesToChat } from '../../src/gateway/translate/messages-request.js';
import {
  MessagesStreamTranslator,
  messageOfChat,
  messagesUsage,
} from '../../src/gateway/translate/messages-response.js';
import { responsesRequestSchema, responsesToChat } from '../../src/gateway/translate/responses-request.js';
import { outputOfChat, ResponsesStreamTranslator } from '../../src/gateway/translate/responses-response.js';

const toolChunks: ChatChunk[] = [
  { choices: [{ index: 0, delta: { content: 'Let me check. ' } }] },
  {
    choices: [
      {
        index: 0,
        delta: { tool_calls: [{ index: 0, id: 'call_a', function: { name: 'get', arguments: '' } }] },
      },
    ],
  },
  { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"q":' } }] } }] },
  { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '1}' } }] } }] },
  { choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
  {
    choices: [],
    usage: { prompt_tokens: 10, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 4 } },
  },
];

describe('Responses → chat', () => {
  it('turns instructions, messages, calls and their outputs into chat messages', () => {
    const req = responsesRequestSchema.parse({
      model: 'm',
      instructions: 'Be brief.',
      input: [
        { role: 'developer', content: 'Use tools.' },
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'Hi' },
            { type: 'input_image', image_url: 'https://x/y.png' },
          ],
        },
        { type: 'function_call', call_id: 'c1', name: 'get', arguments: '{}' },
        { type: 'function_call', call_id: 'c2', name: 'get', arguments: '{"a":1}' },
        { type: 'function_call_output', call_id: 'c1', output: 'one' },
        { type: 'function_call_output', call_id: 'c2', output: 'two' },
        { type: 'reasoning', summary: [] },
      ],
      tools: [{ type: 'function', name: 'get', parameters: { type: 'object' } }, { type: 'web_search' }],
      tool_choice: { type: 'function', name: 'get' },
      text: { format: { type: 'json_object' } },
      max_output_tokens: 7,
    });
    const chat = responsesToChat(req);
    expect(chat.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'system', content: 'Use tools.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Hi' },
          { type: 'image_url', image_url: { url: 'https://x/y.png' } },
        ],
      },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'get', arguments: '{}' } },
          { id: 'c2', type: 'function', function: { name: 'get', arguments: '{"a":1}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'one' },
      { role: 'tool', tool_call_id: 'c2', content: 'two' },
    ]);
    expect(chat.tools).toEqual([
      { type: 'function', function: { name: 'get', parameters: { type: 'object' } } },
    ]);
    expect(chat).toMatchObject({
      tool_choice: { type: 'function', function: { name: 'get' } },
      response_format: { type: 'json_object' },
      max_tokens: 7,
    });
  });

  it('refuses an item type a chat model cannot take, naming it', () => {
    const req = responsesRequestSchema.parse({ model: 'm', input: [{ type: 'item_reference', id: 'x' }] });
    expect(() => responsesToChat(req)).toThrow(/input\[0\]\.type/);
  });

  it('streams text, then a call with its arguments, and completes with usage', () => {
    const req = responsesRequestSchema.parse({ model: 'm', input: 'x' });
    const t = new ResponsesStreamTranslator(req, 'resp_1', 1, 'm', true);
    const events = [...t.start(), ...toolChunks.flatMap((c) => t.chunk(c)), ...t.finish()];
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const done = events.at(-1)!.response as { output: unknown[]; usage: unknown; status: string };
    expect(done.status).toBe('completed');
    expect(done.output[1]).toMatchObject({
      type: 'function_call',
      call_id: 'call_a',
      name: 'get',
      arguments: '{"q":1}',
    });
    expect(done.usage).toMatchObject({
      input_tokens: 10,
      input_tokens_details: { cached_tokens: 4 },
      output_tokens: 5,
    });
  });

  it('marks a cut-off answer incomplete', () => {
    const { output, finish } = outputOfChat({
      choices: [{ message: { content: 'half' }, finish_reason: 'length' }],
    });
    expect(finish).toBe('length');
    expect(output[0]).toMatchObject({ type: 'message', status: 'incomplete' });
  });
});

describe('Messages ↔ chat', () => {
  it('turns system, tool_use and tool_result blocks and tool_choice into chat', () => {
    const req = messagesRequestSchema.parse({
      model: 'm',
      max_tokens: 10,
      system: [{ type: 'text', text: 'Sys' }],
      stop_sequences: ['END'],
      tools: [{ name: 'get', input_schema: { type: 'object' } }],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      messages: [
        { role: 'user', content: 'Q' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get', input: { a: 1 } }] },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: 'toolu_1',
              content: [{ type: 'text', text: 'R' }],
              is_error: true,
            },
            { type: 'text', text: 'And?' },
          ],
        },
      ],
    });
    const chat = messagesToChat(req);
    expect(chat.messages).toEqual([
      { role: 'system', content: 'Sys' },
      { role: 'user', content: 'Q' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get', arguments: '{"a":1}' } }],
      },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'Error: R' },
      { role: 'user', content: 'And?' },
    ]);
    expect(chat).toMatchObject({
      max_tokens: 10,
      stop: ['END'],
      tool_choice: 'required',
      parallel_tool_calls: false,
    });
  });

  it('requires max_tokens, as Anthropic does', () => {
    expect(
      messagesRequestSchema.safeParse({ model: 'm', messages: [{ role: 'user', content: 'x' }] }).success,
    ).toBe(false);
  });

  it('reports input_tokens without cache reads, and a matched stop sequence', () => {
    expect(messagesUsage({ input: 10, output: 5, cachedInput: 4, reasoning: 0 })).toEqual({
      input_tokens: 6,
      output_tokens: 5,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 4,
    });
    const m = messageOfChat(
      { choices: [{ message: { content: 'Hi' }, finish_reason: 'stop', stop_reason: 'END' }] },
      { id: 'msg_1', model: 'm', stopSequences: ['END'], usage: null },
    );
    expect(m).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'END' });
  });

  it('streams a text block, then a tool_use block with input_json_delta, then message_delta and message_stop', () => {
    const t = new MessagesStreamTranslator('msg_1', 'm', undefined);
    const events = [...t.start(), ...toolChunks.flatMap((c) => t.chunk(c)), ...t.finish()];
    expect(events.map((e) => e.type)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events[5]).toMatchObject({
      index: 1,
      content_block: { type: 'tool_use', id: 'toolu_call_a', name: 'get' },
    });
    expect(events[9]).toMatchObject({
      delta: { stop_reason: 'tool_use' },
      usage: { input_tokens: 6, cache_read_input_tokens: 4, output_tokens: 5 },
    });
  });
});

describe('Completions ↔ chat', () => {
  it('sends one prompt as a user message with the default cap, and refuses what chat cannot do', () => {
    expect(completionsToChat({ model: 'm', prompt: 'Hi' })).toEqual({
      model: 'm',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 16,
    });
    expect(() => completionsToChat({ model: 'm', prompt: ['a', 'b'] })).toThrow(/prompt/);
    expect(() => completionsToChat({ model: 'm', prompt: 'Hi', echo: true })).toThrow(/echo/);
  });

  it('turns chat chunks into text_completion chunks', () => {
    const opts = { id: 'cmpl-1', model: 'm', created: 1, includeUsage: false };
    expect(completionChunkOfChat({ choices: [{ index: 0, delta: { content: 'Hi' } }] }, opts)).toMatchObject({
      object: 'text_completion',
      choices: [{ text: 'Hi', index: 0, finish_reason: null }],
    });
    expect(completionChunkOfChat({ choices: [{ index: 0, delta: { content: '' } }] }, opts)).toBeNull();
    expect(
      completionChunkOfChat({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 1 } }, opts),
    ).toBeNull();
  });
});
