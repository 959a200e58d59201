import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { keyRole } from '../accounts/api-key-store.js';
import type { AuthContext } from '../accounts/authenticator.js';
import { can, type Permission } from '../accounts/roles.js';
import { answerText } from '../gateway/chat-chunks.js';
import { chatCompletionRequestSchema } from '../gateway/chat-schema.js';
import type { SurfaceDeps } from '../gateway/inference-pipeline.js';
import { parseBody } from '../http/validation.js';
import type { CountedRequest } from '../ratelimit/model-call-limit.js';
import { ApiError } from '../shared/errors.js';
import { balanceReport, type ReportDeps, usageReport } from './account-reports.js';

/** What the MCP tools read: the inference pipeline and catalog, billing reports, the brand's name. */
export type McpToolDeps = Pick<SurfaceDeps, 'pipeline' | 'catalog'> &
  ReportDeps & { config: { brand: { name: string } } };

/** Who is calling, for one MCP request. */
export interface ToolCaller {
  auth: AuthContext;
  /** The HTTP request id; tool calls are recorded under it. */
  requestId: string;
  startedAt: number;
  /** The HTTP request's rate-limit count: it covers one chat call; the others of a batch count their own. */
  counted: CountedRequest | null;
}

const DAY_MS = 86_400_000;

const json = (value: unknown): CallToolResult => ({
  content: [{ type: 'text', text: JSON.stringify(value, null, 2) }],
});

/** Expected failures (402, 404, 429…) become tool errors the model can read, not protocol errors. */
async function asToolResult(run: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    return { isError: true, content: [{ type: 'text', text: `${err.code}: ${err.message}` }] };
  }
}

/**
 * The account reports follow the role table of `/admin/*`: a developer's key reads usage (as on
 * `GET /admin/usage`) but not the balance (`GET /admin/balance` needs `billing`).
 */
function assertMay(auth: AuthContext, permission: Permission, what: string): void {
  const role = keyRole(auth.key);
  if (!can(role, permission))
    throw new ApiError(
      'permission_denied',
      `Your role in this organization (${role}) does not allow reading ${what}. Ask an owner or admin.`,
    );
}

const chatInput = {
  model: z
    .string()
    .min(1)
    .optional()
    .describe("A model id from list_models; defaults to the account's first chat model"),
  messages: z
    .array(
      z.object({
        role: z.enum(['system', 'developer', 'user', 'assistant']),
        content: z.string(),
      }),
    )
    .min(1)
    .optional()
    .describe('The conversation, OpenAI style; give this or `prompt`'),
  prompt: z.string().min(1).optional().describe('A single user message; shorthand for `messages`'),
  max_tokens: z.int().min(1).optional(),
  temperature: z.number().min(0).max(2).optional(),
};

/**
 * A fresh MCP server with our four tools, bound to one authenticated caller. Stateless: one per HTTP
 * request, so nothing is shared between tenants.
 */
export function createMcpServer(deps: McpToolDeps, caller: ToolCaller, version: string): McpServer {
  const server = new McpServer(
    { name: deps.config.brand.name, version },
    {
      instructions: `Tools of ${deps.config.brand.name}. Calls are billed to and rate-limited for your account.`,
    },
  );
  const { tenant } = caller.auth;
  let calls = 0;

  server.registerTool(
    'chat_completion',
    {
      title: 'Chat completion',
      description: 'Generate an answer with a hosted language model. Give `messages` or a single `prompt`.',
      inputSchema: chatInput,
      annotations: { readOnlyHint: false, openWorldHint: false },
    },
    (args, extra) =>
      asToolResult(async () => {
        if (!args.messages && !args.prompt)
          throw new ApiError('missing_required_parameter', "Give 'messages' or 'prompt'.", 'messages');
        const model = args.model ?? deps.catalog.forTenant(tenant).find((m) => m.kind === 'chat')?.id;
        if (!model) throw new ApiError('model_not_found', 'This account has no chat model.', 'model');
        const body = parseBody(chatCompletionRequestSchema, {
          model,
          messages: args.messages ?? [{ role: 'user', content: args.prompt }],
          ...(args.max_tokens ? { max_tokens: args.max_tokens } : {}),
          ...(args.temperature !== undefined ? { temperature: args.temperature } : {}),
        });
        calls += 1;
        const answer = await deps.pipeline.complete({
          auth: caller.auth,
          body,
          // A batch may hold several calls; each is its own usage record.
          requestId: calls === 1 ? caller.requestId : `${caller.requestId}.${calls}`,
          signal: extra.signal,
          startedAt: calls === 1 ? caller.startedAt : performance.now(),
          counted: caller.counted,
        });
        const text = answerText(answer.body);
        return {
          content: [{ type: 'text', text }],
          structuredContent: { model: answer.body.model, content: text, usage: answer.body.usage ?? null },
        };
      }),
  );

  server.registerTool(
    'list_models',
    {
      title: 'List models',
      description: 'The models this account may use, with context windows and USD prices per million tokens.',
      annotations: { readOnlyHint: true },
    },
    () => asToolResult(async () => json(deps.catalog.forTenant(tenant).map((m) => deps.catalog.describe(m)))),
  );

  server.registerTool(
    'get_usage',
    {
      title: 'Usage',
      description: 'Requests, tokens and cost per model over a period (default: the last 30 days).',
      inputSchema: {
        from: z.iso.datetime({ offset: true }).optional().describe('ISO 8601 start (inclusive)'),
        to: z.iso.datetime({ offset: true }).optional().describe('ISO 8601 end (exclusive)'),
      },
      annotations: { readOnlyHint: true },
    },
    (args) =>
      asToolResult(async () => {
        const to = args.to ? Date.parse(args.to) : Date.now();
        const from = args.from ? Date.parse(args.from) : to - 30 * DAY_MS;
        assertMay(caller.auth, 'usage', 'usage');
        if (to <= from) throw new ApiError('invalid_parameter', "'to' must be after 'from'.", 'to');
        return json(await usageReport(deps, tenant.id, from, to));
      }),
  );

  server.registerTool(
    'get_balance',
    {
      title: 'Credit balance',
      description: "The account's remaining prepaid credit in USD.",
      annotations: { readOnlyHint: true },
    },
    () =>
      asToolResult(async () => {
        assertMay(caller.auth, 'billing', 'the balance');
        return json(await balanceReport(deps, tenant.id));
      }),
  );

  return server;
}
