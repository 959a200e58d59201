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
        '- `invoice.created`: a monthly invoice was closed',
        '- `audit.flagged`: unusual account activity was noticed',
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
      `**Getting a key as an agent.** The protected-resource metadata links here. There is no OAuth flow: an agent creates an account itself with \`POST ${d.publicUrl}/register\` and the JSON body \`{"email": "…", "password": "…"}\`. The \`201\` answer holds \`api_key\` (shown once) and \`base_url\`; send the key as \`Authorization: Bearer\` or \`X-API-Key\` from then on.`,
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
