import type { ResolvedConfig } from '../config/load.js';
import { nounFor } from '../shared/plural.js';
import { agentsSection, surfacesSection, webhooksSection } from './docs-content-extra.js';

/**
 * The developer documentation as data: one list of markdown sections that `/docs` (the portal page),
 * `/llms.txt` and `/llms-full.txt` all render, so the three never disagree. Every example is built
 * from the operator's public URL and real model ids from the catalog.
 */
export interface DocSection {
  /** Stable anchor id, e.g. `quickstart`. */
  id: string;
  title: string;
  /** One line for link lists such as llms.txt. */
  summary: string;
  /** The body as CommonMark, without the section heading; fenced code blocks name their language. */
  markdown: string;
}

/** What the documentation is generated from. */
export interface DocsContext {
  publicUrl: string;
  brandName: string;
  supportEmail: string;
  /** A chat model id from the catalog, used in every example. */
  chatModel: string;
  /** An embedding model id from the catalog, when there is one. */
  embeddingModel: string | undefined;
  models: Array<{
    id: string;
    kind: string;
    contextWindow: number;
    inputPerMTok: number;
    outputPerMTok: number;
  }>;
  plans: Record<string, { rpm: number }>;
}

/** The documentation context of a running platform. */
export function docsContextFrom(config: ResolvedConfig): DocsContext {
  const chat = config.models.find((m) => m.kind === 'chat');
  return {
    publicUrl: config.publicUrl,
    brandName: config.brand.name,
    supportEmail: config.brand.supportEmail,
    chatModel: chat?.id ?? config.models[0]?.id ?? 'your-model-id',
    embeddingModel: config.models.find((m) => m.kind === 'embedding')?.id,
    models: config.models.map((m) => ({
      id: m.id,
      kind: m.kind,
      contextWindow: m.contextWindow,
      inputPerMTok: m.pricing.inputPerMTok,
      outputPerMTok: m.pricing.outputPerMTok,
    })),
    plans: Object.fromEntries(Object.entries(config.plans).map(([name, p]) => [name, { rpm: p.rpm }])),
  };
}

const fence = (lang: string, code: string) => `\`\`\`${lang}\n${code.trim()}\n\`\`\``;

function quickstart(d: DocsContext): DocSection {
  return {
    id: 'quickstart',
    title: 'Quickstart',
    summary: 'Create an account, get a key, send a first chat completion with curl.',
    markdown: [
      `1. Create an account at [${d.publicUrl}/register](${d.publicUrl}/register). The key is shown once on the dashboard, so copy it somewhere safe. Scripts and agents can sign up with JSON instead:`,
      fence(
        'bash',
        `curl ${d.publicUrl}/register \\
  -H "Content-Type: application/json" \\
  -d '{"email": "you@example.com", "password": "a long passphrase"}'
# 201 → {"tenant_id": "…", "key_id": "…", "api_key": "sk-simo-…", "plan": "…", "credits": "…", "base_url": "${d.publicUrl}/v1"}`,
      ),
      '2. Call the chat endpoint with that key:',
      fence(
        'bash',
        `curl ${d.publicUrl}/v1/chat/completions \\
  -H "Authorization: Bearer $SIMO_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{
    "model": "${d.chatModel}",
    "messages": [{"role": "user", "content": "Hello"}]
  }'`,
      ),
      'The answer is a regular OpenAI `chat.completion` object, so anything that already talks to OpenAI can talk to us by changing the base URL and the key.',
      `See which models your account may use with \`GET ${d.publicUrl}/v1/models\`.`,
    ].join('\n\n'),
  };
}

function authentication(d: DocsContext): DocSection {
  return {
    id: 'authentication',
    title: 'Authentication',
    summary: 'API keys in Authorization: Bearer or X-API-Key; rotation and the key.rotated event.',
    markdown: [
      'Each request carries one API key (`sk-simo-…`). Use whichever header your client finds easier; both mean the same thing:',
      fence('http', 'Authorization: Bearer sk-simo-…\nX-API-Key: sk-simo-…'),
      'A key stays valid until you rotate or delete it; there is no automatic expiry.',
      `- Rotate from the dashboard or with \`POST ${d.publicUrl}/admin/keys/rotate\` (optional body \`{"key_id": "…"}\`; without it the key making the call is rotated). The response shows the new key once. From that moment the old key is refused with 401 everywhere, and a \`key.rotated\` webhook event is sent.`,
      `- List and create keys with \`GET\`/\`POST ${d.publicUrl}/admin/keys\`; delete one with \`DELETE ${d.publicUrl}/admin/keys/{id}\`.`,
      `A request without a valid key gets a 401 whose \`WWW-Authenticate\` header points to our RFC 9728 metadata (\`${d.publicUrl}/.well-known/oauth-protected-resource\`, or the document of the part called, such as \`…/oauth-protected-resource/mcp\`), which names our OAuth authorization server: agents can sign their user up and get a token on their own (see Agent discovery).`,
    ].join('\n\n'),
  };
}

function sdks(d: DocsContext): DocSection {
  return {
    id: 'sdks',
    title: 'SDKs',
    summary: 'Use the official OpenAI SDKs for Python and TypeScript with our base URL.',
    markdown: [
      'No special SDK is needed: the official `openai` packages work once you point them at our base URL.',
      '**Python**',
      fence(
        'python',
        `from openai import OpenAI

client = OpenAI(base_url="${d.publicUrl}/v1", api_key="sk-simo-...")
reply = client.chat.completions.create(
    model="${d.chatModel}",
    messages=[{"role": "user", "content": "Hello"}],
)
print(reply.choices[0].message.content)`,
      ),
      '**TypeScript / Node.js**',
      fence(
        'ts',
        `import OpenAI from 'openai';

const client = new OpenAI({ baseURL: '${d.publicUrl}/v1', apiKey: process.env.SIMO_API_KEY });
const reply = await client.chat.completions.create({
  model: '${d.chatModel}',
  messages: [{ role: 'user', content: 'Hello' }],
});
console.log(reply.choices[0].message.content);`,
      ),
      d.embeddingModel
        ? `Embeddings work the same way: \`client.embeddings.create({ model: '${d.embeddingModel}', input: 'some text' })\`.`
        : '',
    ]
      .filter(Boolean)
      .join('\n\n'),
  };
}

function streaming(d: DocsContext): DocSection {
  return {
    id: 'streaming',
    title: 'Streaming',
    summary: 'Set "stream": true to receive Server-Sent Events ending with data: [DONE].',
    markdown: [
      'Send `"stream": true` and the answer arrives as Server-Sent Events (`text/event-stream`). Every event is a `data:` line holding a `chat.completion.chunk` with a `delta`; the last event is `data: [DONE]`. Add `"stream_options": {"include_usage": true}` to receive token counts in one extra chunk just before the end.',
      fence(
        'python',
        `stream = client.chat.completions.create(
    model="${d.chatModel}",
    messages=[{"role": "user", "content": "Write a haiku about rivers"}],
    stream=True,
)
for chunk in stream:
    if chunk.choices:
        print(chunk.choices[0].delta.content or "", end="", flush=True)`,
      ),
      'If the model server fails after the first bytes were sent, the stream carries one `data: {"error": {…}}` event and then `data: [DONE]`. If you disconnect early, generation stops and only what was produced is billed.',
    ].join('\n\n'),
  };
}

function rateLimits(d: DocsContext): DocSection {
  const plan = (name: string, fallback: string) =>
    d.plans[name] ? `${d.plans[name].rpm} ${nounFor(d.plans[name].rpm, 'request')} per minute` : fallback;
  return {
    id: 'rate-limits',
    title: 'Rate limits',
    summary: 'Per-tenant requests per minute by plan, with X-RateLimit-* headers on every response.',
    markdown: [
      'Limits apply per account (all of its keys together) and per minute:',
      `| Plan | Limit |\n| --- | --- |\n| Starter | ${plan('starter', '60 requests per minute')} |\n| Professional | ${plan('professional', '600 requests per minute')} |\n| Enterprise | negotiated per contract |`,
      'Every authenticated response, errors included, tells you where you stand, so a client can slow down before it is refused:',
      fence(
        'http',
        `X-RateLimit-Limit: 600          # requests per minute on your plan
X-RateLimit-Remaining: 437      # left in the current window
X-RateLimit-Reset: 1714809600   # Unix seconds when the window frees up
Retry-After: 12                 # seconds; sent with 429 only`,
      ),
      'We also send OpenAI’s `x-ratelimit-limit-requests`, `x-ratelimit-remaining-requests` and `x-ratelimit-reset-requests`, so OpenAI SDKs back off on their own. Over the limit you get `429` with type `rate_limit_error`; wait for `Retry-After` seconds.',
    ].join('\n\n'),
  };
}

function errors(_d: DocsContext): DocSection {
  return {
    id: 'errors',
    title: 'Errors',
    summary: 'One JSON error envelope (OpenAI shape) and the HTTP statuses used.',
    markdown: [
      'Failures always come back as JSON with the four keys `type`, `code`, `message` and `param` inside `error` (`param` and `code` may be `null`). For example, asking for a model your account does not have:',
      fence(
        'json',
        `{
  "error": {
    "type": "invalid_request_error",
    "code": "model_not_found",
    "message": "Model 'gpt-5' is not available on this tenant.",
    "param": "model"
  }
}`,
      ),
      [
        '| Status | `type` | Typical `code` | Meaning |',
        '| --- | --- | --- | --- |',
        '| 400 | `invalid_request_error` | `invalid_json`, `missing_required_parameter`, `invalid_parameter` | The body is malformed; `param` names the field |',
        '| 401 | `authentication_error` | `missing_api_key`, `invalid_api_key` | No key, or an unknown, rotated or deleted key |',
        '| 402 | `insufficient_quota` | `insufficient_credits` | The account has no credit left |',
        '| 403 | `permission_error` | `tenant_suspended`, `key_scope` | The key is valid but not allowed to do this |',
        '| 404 | `invalid_request_error` | `model_not_found`, `not_found` | Unknown resource or a model outside your plan |',
        '| 429 | `rate_limit_error` | `rate_limit_exceeded` | Too many requests; see `Retry-After` |',
        '| 500 | `server_error` | `internal_error` | Our bug; quote the `X-Request-Id` to support |',
        '| 503 | `server_error` | `upstream_unavailable` | No model server could answer; retry later (502/504 are used for upstream errors and timeouts) |',
      ].join('\n'),
      'On `/v1/messages` and `/v1/messages/count_tokens` the same failures use Anthropic’s envelope, so Anthropic SDKs raise their own error classes: `{"type": "error", "error": {"type": "not_found_error", "message": "…"}}`, with `invalid_request_error` (400), `authentication_error` (401), `billing_error` (402), `permission_error` (403), `not_found_error` (404), `rate_limit_error` (429), `api_error` (500, 502), `overloaded_error` (503) and `timeout_error` (504).',
      'Every response has an `X-Request-Id` header; include it when you contact support.',
      'Where the operator turned it on, inference answers also carry `x-simo-route`: `provider=…; model=…; attempts=N`, the model server and upstream model that answered and how many were tried (2 means the first failed and the next answered). An answer from the response cache says `provider=…; model=…; attempts=0; cache=hit`, naming the server that made the cached answer. Read it as `; `-separated `key=value` pairs: more may be added.',
    ].join('\n\n'),
  };
}

function models(d: DocsContext): DocSection {
  const rows = d.models.map(
    (m) => `| \`${m.id}\` | ${m.kind} | ${m.contextWindow} | $${m.inputPerMTok} | $${m.outputPerMTok} |`,
  );
  return {
    id: 'models',
    title: 'Models and pricing',
    summary: 'The model catalog with context windows and USD prices per million tokens.',
    markdown: [
      `Your account may be limited to part of this catalog; \`GET ${d.publicUrl}/v1/models\` lists exactly what your key can use.`,
      [
        '| Model | Kind | Context | Input / 1M tokens | Output / 1M tokens |',
        '| --- | --- | --- | --- | --- |',
        ...rows,
      ].join('\n'),
      'Cost is tokens × price, debited once per request, streams included. A request is only accepted while your balance is positive.',
    ].join('\n\n'),
  };
}

function nextSteps(d: DocsContext): DocSection {
  return {
    id: 'next-steps',
    title: 'Next steps',
    summary: 'Sandbox keys, trial credits and migration help.',
    markdown: [
      `- Get a sandbox key at [${d.publicUrl}/register](${d.publicUrl}/register).`,
      `- Need more trial credits? Write to [${d.supportEmail}](mailto:${d.supportEmail}).`,
      `- Moving from OpenAI, Mistral or Hugging Face Inference? Read [${d.publicUrl}/compare](${d.publicUrl}/compare).`,
    ].join('\n'),
  };
}

/** The developer documentation, in reading order. Renderer-agnostic: markdown only. */
export function docsSections(d: DocsContext): DocSection[] {
  return [
    quickstart(d),
    authentication(d),
    sdks(d),
    streaming(d),
    surfacesSection(d),
    rateLimits(d),
    errors(d),
    webhooksSection(d),
    agentsSection(d),
    models(d),
    nextSteps(d),
  ];
}

/** The tagline under the title, shared by /docs and llms.txt. */
export const docsTagline = (d: DocsContext) =>
  `${d.brandName} is an OpenAI-compatible AI API: chat completions (streamed or not), the Responses API, Anthropic Messages, legacy completions, embeddings and model listing at ${d.publicUrl}/v1, with API keys, per-plan rate limits, prepaid credits, signed webhooks, and MCP and A2A endpoints for agents.`;
