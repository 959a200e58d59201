import { z } from 'zod';
import { ApiError } from '../../shared/errors.js';
import type { ChatCompletionRequest } from '../chat-schema.js';

/**
 * The OpenAI Responses request (the Open Responses subset a Chat Completions upstream can serve).
 * Objects are loose: fields we do not translate are accepted and ignored, as tools such as Codex send
 * many (`include`, `prompt_cache_key`, `service_tier`…).
 */
const inputContentPart = z.looseObject({ type: z.string() });

const messageItem = z.looseObject({
  type: z.literal('message').optional(),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.union([z.string(), z.array(inputContentPart)]),
});

const functionCallItem = z.looseObject({
  type: z.literal('function_call'),
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
});

const functionCallOutputItem = z.looseObject({
  type: z.literal('function_call_output'),
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(inputContentPart)]),
});

/** Any other item (reasoning, item_reference, built-in tool calls…): judged by the translator. */
const otherItem = z.looseObject({ type: z.string() });

export const responseInputItemSchema = z.union([
  messageItem,
  functionCallItem,
  functionCallOutputItem,
  otherItem,
]);
export type ResponseInputItem = z.infer<typeof responseInputItemSchema>;

const functionTool = z.looseObject({
  type: z.literal('function'),
  name: z.string().min(1).max(64),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});
const tool = z.union([functionTool, z.looseObject({ type: z.string() })]);

const textFormat = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    name: z.string().min(1),
    schema: z.record(z.string(), z.unknown()),
    description: z.string().nullish(),
    strict: z.boolean().nullish(),
  }),
]);

export const responsesRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(responseInputItemSchema)]).optional(),
  instructions: z.string().nullish(),
  previous_response_id: z.string().min(1).nullish(),
  store: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  tools: z.array(tool).nullish(),
  tool_choice: z
    .union([
      z.enum(['none', 'auto', 'required']),
      z.looseObject({ type: z.literal('function'), name: z.string().min(1) }),
      z.looseObject({ type: z.string() }),
    ])
    .nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.looseObject({ format: textFormat.nullish() }).nullish(),
  max_output_tokens: z.int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  reasoning: z.looseObject({ effort: z.string().nullish(), summary: z.string().nullish() }).nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  user: z.string().nullish(),
  safety_identifier: z.string().nullish(),
});

export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;

type ChatMessage = ChatCompletionRequest['messages'][number];

/** The request's own input as items (a string is one user message). */
export function inputItemsOf(req: Pick<ResponsesRequest, 'input'>): ResponseInputItem[] {
  if (req.input === undefined) return [];
  if (typeof req.input === 'string') return [{ type: 'message', role: 'user', content: req.input }];
  return req.input;
}

/**
 * The Chat Completions request that serves a Responses request. `history` is the conversation of
 * `previous_response_id` (its inputs and outputs, oldest first); `instructions` are not carried over.
 */
export function responsesToChat(
  req: ResponsesRequest,
  history: ResponseInputItem[] = [],
): ChatCompletionRequest {
  const messages: ChatMessage[] = [];
  if (req.instructions) messages.push({ role: 'system', content: req.instructions });
  for (const item of history) addItem(messages, item, -1);
  for (const [i, item] of inputItemsOf(req).entries()) addItem(messages, item, i);
  if (messages.length === 0)
    throw new ApiError('missing_required_parameter', "Missing required parameter: 'input'.", 'input');

  const body: ChatCompletionRequest = { model: req.model, messages };
  const tools = (req.tools ?? []).flatMap((t) =>
    t.type === 'function' && typeof t.name === 'string'
      ? [
          {
            type: 'function',
            function: {
              name: t.name,
              ...(typeof t.description === 'string' ? { description: t.description } : {}),
              ...(isRecord(t.parameters) ? { parameters: t.parameters } : {}),
              ...(typeof t.strict === 'boolean' ? { strict: t.strict } : {}),
            },
          },
        ]
      : [],
  );
  if (tools.length > 0) {
    body.tools = tools;
    const choice = req.tool_choice;
    if (typeof choice === 'string') body.tool_choice = choice;
    else if (choice?.type === 'function' && typeof choice.name === 'string')
      body.tool_choice = { type: 'function', function: { name: choice.name } };
    if (typeof req.parallel_tool_calls === 'boolean') body.parallel_tool_calls = req.parallel_tool_calls;
  }
  const format = req.text?.format;
  if (format?.type === 'json_object') body.response_format = { type: 'json_object' };
  else if (format?.type === 'json_schema')
    body.response_format = {
      type: 'json_schema',
      json_schema: {
        name: format.name,
        schema: format.schema,
        ...(typeof format.description === 'string' ? { description: format.description } : {}),
        ...(typeof format.strict === 'boolean' ? { strict: format.strict } : {}),
      },
    };
  if (req.max_output_tokens) body.max_tokens = req.max_output_tokens;
  if (typeof req.temperature === 'number') body.temperature = req.temperature;
  if (typeof req.top_p === 'number') body.top_p = req.top_p;
  if (typeof req.reasoning?.effort === 'string') body.reasoning_effort = req.reasoning.effort;
  if (req.user) body.user = req.user;
  if (req.safety_identifier) body.safety_identifier = req.safety_identifier;
  return body;
}

function addItem(messages: ChatMessage[], item: ResponseInputItem, index: number): void {
  const type = item.type ?? 'message';
  if (type === 'message' && 'role' in item) {
    const role = item.role as 'user' | 'assistant' | 'system' | 'developer';
    const content = item.content as string | Array<Record<string, unknown>>;
    if (role === 'assistant') {
      const text = typeof content === 'string' ? content : content.map(partText).join('');
      messages.push({ role: 'assistant', content: text });
      return;
    }
    if (typeof content === 'string' || role !== 'user') {
      const text = typeof content === 'string' ? content : content.map(partText).join('');
      // `developer` is OpenAI's newer name for `system`; not every chat template knows it.
      messages.push({ role: role === 'developer' ? 'system' : role, content: text });
      return;
    }
    messages.push({ role: 'user', content: content.map((p, j) => userPart(p, index, j)) });
    return;
  }
  if (type === 'function_call') {
    const call = {
      id: String(item.call_id),
      type: 'function',
      function: { name: String(item.name), arguments: String(item.arguments) },
    };
    // Calls made in one turn belong to one assistant message, after any text of that turn.
    const last = messages.at(-1);
    if (last?.role === 'assistant') last.tool_calls = [...(last.tool_calls ?? []), call];
    else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
    return;
  }
  if (type === 'function_call_output') {
    const output = item.output as string | Array<Record<string, unknown>>;
    const text = typeof output === 'string' ? output : output.map(partText).join('');
    messages.push({ role: 'tool', tool_call_id: String(item.call_id), content: text });
    return;
  }
  // Reasoning carries nothing a chat upstream can read back.
  if (type === 'reasoning') return;
  throw new ApiError(
    'invalid_parameter',
    `Invalid value for 'input[${index}].type': '${type}' items are not supported by this model.`,
    `input[${index}].type`,
  );
}

function partText(p: Record<string, unknown>): string {
  if (typeof p.text === 'string') return p.text;
  if (typeof p.refusal === 'string') return p.refusal;
  return '';
}

function userPart(
  p: Record<string, unknown>,
  item: number,
  part: number,
): Record<string, unknown> & { type: string } {
  if (
    (p.type === 'input_text' || p.type === 'output_text' || p.type === 'text') &&
    typeof p.text === 'string'
  )
    return { type: 'text', text: p.text };
  if (p.type === 'input_image') {
    const url = typeof p.image_url === 'string' ? p.image_url : undefined;
    if (!url)
      throw new ApiError(
        'invalid_parameter',
        `Invalid value for 'input[${item}].content[${part}]': only images given by 'image_url' are supported.`,
        `input[${item}].content[${part}]`,
      );
    return {
      type: 'image_url',
      image_url: { url, ...(typeof p.detail === 'string' ? { detail: p.detail } : {}) },
    };
  }
  throw new ApiError(
    'invalid_parameter',
    `Invalid value for 'input[${item}].content[${part}].type': '${String(p.type)}' is not supported by this model.`,
    `input[${item}].content[${part}].type`,
  );
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
