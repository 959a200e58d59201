import type { DocSection, DocsContext } from './docs-content.js';

const fence = (lang: string, code: string) => `\`\`\`${lang}\n${code.trim()}\n\`\`\``;

/** The nine discovery documents, in the order the docs list them. */
export function discoveryDocuments(publicUrl: string) {
  return [
    { path: '/openapi.json', name: 'OpenAPI 3.1', note: 'every route with request and response schemas' },
    { path: '/llms.txt', name: 'llms.txt', note: 'a short index of this documentation for language models' },
    { path: '/llms-full.txt', name: 'llms-full.txt', note: 'this whole documentation in one markdown file' },
    {
      path: '/.well-known/ai-plugin.json',
      name: 'ai-plugin.json',
      note: 'the legacy OpenAI plugin manifest',
    },
    { path: '/.well-known/agent.json', name: 'agent.json', note: 'the A2A agent card at its older path' },
    { path: '/.well-known/agent-card.json', name: 'agent-card.json', note: 'the A2A agent card' },
    {
      path: '/.well-known/mcp/server-card.json',
      name: 'MCP server card',
      note: 'how to reach our MCP server',
    },
    {
      path: '/.well-known/oauth-protected-resource',
      name: 'Protected resource metadata',
      note: 'RFC 9728: how this API is authenticated and where to learn to get a key',
    },
    {
      path: '/.well-known/api-catalog',
      name: 'API catalog',
      note: 'RFC 9727 linkset pointing at the API description',
    },
  ].map((d) => ({ ...d, url: `${publicUrl}${d.path}` }));
}

export function webhooksSection(d: DocsContext): DocSection {
  return {
    id: 'webhooks',
    title: 'Webhooks',
    summary: 'Signed event notifications: events, headers, payload, retries and verification code.',
    markdown: [
      `Add an endpoint in the dashboard or with \`POST ${d.publicUrl}/admin/webhooks\` (a JSON body with the target \`url\`). The answer contains the signing secret (\`whsec_…\`) exactly once. We notify you about:`,
      [
        '- `usage.threshold_reached`: your usage crossed a share of your granted credits (each threshold fires once)',
        '- `key.rotated`: an API key was replaced',
        '- `key.budget_reached`: an API key spent its own budget for the day or month (`data.scope` is `key`); it gets 402 `key_budget_exceeded` until the budget resets',
        '- `invoice.created`: a monthly invoice was closed',
        '- `audit.flagged`: unusual account activity was noticed, or a card payment was refunded or disputed and its credit taken back',
        '- `payment.failed`: an automatic top-up could not charge the saved card (`data.failures`, `data.stopped`)',
        `- \`webhook.test\`: sent on demand by \`POST ${d.publicUrl}/admin/webhooks/{id}/test\``,
      ].join('\n'),
      'Each delivery is a JSON `POST` with these headers:',
      fence(
        'http',
        `Content-Type: application/json
X-SIMO-Event: key.rotated
X-SIMO-Signature: sha256=<hex>            # HMAC-SHA-256 of the raw body, keyed with the secret string
webhook-id: evt_…                         # the same on every retry of one event
webhook-timestamp: 1714809600             # Unix seconds of this attempt
webhook-signature: v1,<base64>            # Standard Webhooks signature`,
      ),
      fence(
        'json',
        '{"id": "evt_…", "type": "key.rotated", "created": 1714809600, "tenant_id": "…", "data": {}}',
      ),
      `Delivery is at least once: answer with a 2xx quickly, and use \`webhook-id\` to ignore repeats. Timeouts and non-2xx answers are retried with growing delays (the first retry comes within seconds). Every attempt is listed by \`GET ${d.publicUrl}/admin/webhooks/{id}/deliveries\`. Payloads never contain keys or secrets.`,
      '**Verifying the signature (Node.js)**: compute the HMAC over the body bytes exactly as received, before any JSON parsing.',
      fence(
        'ts',
        `import { createHmac, timingSafeEqual } from 'node:crypto';

export function isFromSimo(rawBody: Buffer, signatureHeader: string | undefined, secret: string): boolean {
  const expected = Buffer.from('sha256=' + createHmac('sha256', secret).update(rawBody).digest('hex'));
  const given = Buffer.from(signatureHeader ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}`,
      ),
      '**Verifying the signature (Python)**',
      fence(
        'python',
        `import hashlib
import hmac

def is_from_simo(raw_body: bytes, signature_header: str | None, secret: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature_header or "")`,
      ),
      'For replay protection, check the Standard Webhooks headers instead (or as well): the `standardwebhooks` packages for Node.js and Python, and the OpenAI SDK’s webhook helper, accept our `whsec_` secret as is. They sign `"{webhook-id}.{webhook-timestamp}.{body}"` with the base64-decoded part of the secret and reject stale timestamps.',
    ].join('\n\n'),
  };
}

export function agentsSection(d: DocsContext): DocSection {
  const docs = discoveryDocuments(d.publicUrl)
    .map((doc) => `- [\`${doc.path}\`](${doc.url}): ${doc.note}`)
    .join('\n');
  return {
    id: 'agent-discovery',
    title: 'Agent discovery',
    summary: 'The nine discovery documents, agent sign-up, and the MCP and A2A endpoints.',
    markdown: [
      'Software agents can find, join and use this API on their own. Starting from the host name they can read:',
      docs,
      `**Agent sign-up with OAuth.** The protected-resource metadata (\`${d.publicUrl}/.well-known/oauth-protected-resource\`, and per resource, e.g. \`…/oauth-protected-resource/mcp\`) names our authorization server, whose RFC 8414 metadata is at \`${d.publicUrl}/.well-known/oauth-authorization-server\`. An MCP client (or any OAuth 2.1 client) that meets a 401 follows it: it registers itself (\`POST ${d.publicUrl}/oauth/register\`, RFC 7591), opens the authorization URL (authorization code with PKCE \`S256\`, and \`resource\` set to the URL it calls, RFC 8707) where its user signs in, or signs up with the same trial credits as \`/register\`, and approves the scopes, then exchanges the code at \`${d.publicUrl}/oauth/token\`. The access token is sent as \`Authorization: Bearer …\` and is accepted on \`/v1/*\`, \`/mcp\`, \`/a2a\` and \`/admin/*\` wherever a key with the same scopes would be, limited and metered for the organization like a key. Access tokens last an hour; refresh tokens rotate on every use, and presenting a used one again revokes the whole authorization. Scopes: \`inference\` (models, MCP tools, A2A), \`usage:read\`, \`billing:read\`, \`keys\`, \`webhooks\`; a member can grant only what their role allows. The organization sees each app under Connected apps in the dashboard and can revoke it there (effective at once); revoking a refresh token at \`${d.publicUrl}/oauth/revoke\` (RFC 7009) ends the authorization too.`,
      `**Getting a key as an agent, without OAuth.** An agent can also create an account itself with \`POST ${d.publicUrl}/register\` and the JSON body \`{"email": "…", "password": "…"}\`. The \`201\` answer holds \`api_key\` (shown once) and \`base_url\`; send the key as \`Authorization: Bearer\` or \`X-API-Key\` from then on.`,
      `**MCP.** A Model Context Protocol server (Streamable HTTP) lives at \`${d.publicUrl}/mcp\`. It accepts the same API keys and offers the tools \`chat_completion\`, \`list_models\`, \`get_usage\` and \`get_balance\`. Tool calls count against your rate limit and credits exactly like \`/v1\` calls: each \`chat_completion\` call is one request, also inside a JSON-RPC batch, and calls beyond your limit come back as tool errors (\`rate_limit_exceeded: …\`) while the others are answered. Browser pages on other origins are refused (403).`,
      fence(
        'json',
        `{
  "mcpServers": {
    "simosphere": {
      "type": "http",
      "url": "${d.publicUrl}/mcp",
      "headers": { "Authorization": "Bearer sk-simo-…" }
    }
  }
}`,
      ),
      `**A2A.** An Agent2Agent JSON-RPC endpoint lives at \`${d.publicUrl}/a2a\` and speaks protocol 1.0 (\`SendMessage\`, \`SendStreamingMessage\`) as well as 0.3 (\`message/send\`, \`message/stream\`). It answers text messages with the first chat model your account may use (\`${d.chatModel}\` on the default catalog), authenticated and billed like any other call.`,
    ].join('\n\n'),
  };
}

/** The Responses, Anthropic Messages and legacy Completions surfaces, and the coding agents they serve. */
export function surfacesSection(d: DocsContext): DocSection {
  return {
    id: 'other-apis',
    title: 'Responses, Anthropic Messages and Completions',
    summary:
      'POST /v1/responses (OpenAI Responses), /v1/messages (Anthropic), /v1/completions; Codex, Claude Code and the Agents SDK.',
    markdown: [
      'Besides Chat Completions, every chat model answers three more APIs with the same keys, limits, credits and rate-limit headers. Usage shows each apart in `GET /admin/usage?group_by=endpoint`.',
      `- \`POST ${d.publicUrl}/v1/responses\`: the OpenAI Responses API (text or message input, \`instructions\`, function tools and their outputs, \`tool_choice\`, \`text.format\`, \`max_output_tokens\`, \`reasoning\`), streamed with \`response.created\` … \`response.output_text.delta\` … \`response.completed\`. Responses are stored by default (\`"store": false\` opts out) for \`previous_response_id\`, \`GET\`/\`DELETE /v1/responses/{id}\` and \`GET /v1/responses/{id}/input_items\`; only your account can see them, they cost nothing and are deleted after the retention period.`,
      `- \`POST ${d.publicUrl}/v1/messages\` and \`/v1/messages/count_tokens\`: the Anthropic Messages API (system prompt, text, image, \`tool_use\` and \`tool_result\` blocks, tools, \`stop_sequences\`; \`max_tokens\` is required), streamed with Anthropic's events. Send the key as \`x-api-key\`; errors use Anthropic's envelope \`{"type":"error","error":{"type":"not_found_error",…}}\`.`,
      `- \`POST ${d.publicUrl}/v1/completions\`: legacy text completions, JSON or streamed (one text prompt; \`max_tokens\` defaults to 16 as at OpenAI).`,
      fence(
        'bash',
        `curl ${d.publicUrl}/v1/responses \\
  -H "Authorization: Bearer $SIMO_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"model": "${d.chatModel}", "input": "Hello"}'

curl ${d.publicUrl}/v1/messages \\
  -H "x-api-key: $SIMO_API_KEY" \\
  -H "anthropic-version: 2023-06-01" \\
  -H "Content-Type: application/json" \\
  -d '{"model": "${d.chatModel}", "max_tokens": 256, "messages": [{"role": "user", "content": "Hello"}]}'`,
      ),
      "**Codex CLI**: a custom provider in `~/.codex/config.toml`, with the key in `SIMO_API_KEY`; then `codex exec 'your task'`.",
      fence(
        'toml',
        `model = "${d.chatModel}"
model_provider = "simosphere"

[model_providers.simosphere]
name = "${d.brandName}"
base_url = "${d.publicUrl}/v1"
env_key = "SIMO_API_KEY"
wire_api = "responses"`,
      ),
      '**Claude Code**: point it at the gateway with two variables (the base URL has no `/v1`).',
      fence(
        'sh',
        `export ANTHROPIC_BASE_URL=${d.publicUrl}
export ANTHROPIC_API_KEY=$SIMO_API_KEY
export ANTHROPIC_DEFAULT_HAIKU_MODEL=${d.chatModel}
claude --model ${d.chatModel}`,
      ),
      '**OpenAI Agents SDK** (TypeScript): give the runner a provider with our base URL.',
      fence(
        'js',
        `import { Agent, OpenAIProvider, Runner } from '@openai/agents';

const runner = new Runner({
  modelProvider: new OpenAIProvider({ baseURL: '${d.publicUrl}/v1', apiKey: process.env.SIMO_API_KEY, useResponses: true }),
});
const agent = new Agent({ name: 'Assistant', model: '${d.chatModel}', instructions: 'Be brief.' });
console.log((await runner.run(agent, 'Hello')).finalOutput);`,
      ),
    ].join('\n\n'),
  };
}
