/**
 * The MCP SDK validates a request's params only inside its handler, and answers a mismatch as an
 * internal error (-32603) whose message is the raw zod issue list. Checked here first against the
 * SDK's own schemas, a wrong type answers JSON-RPC's "Invalid params" (-32602) naming the field.
 */
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolRequestSchema,
  InitializeRequestSchema,
  type JSONRPCMessage,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { paramName } from '../http/validation.js';

const INVALID_PARAMS = -32602;

const SCHEMAS: Record<string, { safeParse(value: unknown): ParseResult }> = {
  initialize: InitializeRequestSchema,
  'tools/list': ListToolsRequestSchema,
  'tools/call': CallToolRequestSchema,
};

type ParseResult =
  | { success: true }
  | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } };

/** Why a request's params are refused, or undefined when the SDK may handle it. */
export function mcpParamsProblem(message: JSONRPCMessage): string | undefined {
  if (!('method' in message) || !('id' in message)) return undefined;
  const schema = SCHEMAS[message.method];
  if (!schema) return undefined;
  const result = schema.safeParse(message);
  if (result.success) return undefined;
  const issue = result.error.issues[0];
  const path = paramName(issue?.path ?? []);
  const reason = (issue?.message ?? 'not valid').replace(/^Invalid input: /, '');
  return `Invalid params: ${path ?? 'params'}: ${reason}.`;
}

/** Answers requests with params of the wrong type before they reach the server behind `transport`. */
export function refuseInvalidParams(transport: Transport): void {
  const deliver = transport.onmessage;
  transport.onmessage = (message, extra) => {
    const problem = mcpParamsProblem(message);
    if (problem && 'id' in message) {
      const error = { code: INVALID_PARAMS, message: problem };
      void transport.send({ jsonrpc: '2.0', id: message.id, error });
      return;
    }
    deliver?.(message, extra);
  };
}
