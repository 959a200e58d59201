import { type DocsContext, docsSections, docsTagline } from './docs-content.js';
import { discoveryDocuments } from './docs-content-extra.js';

/**
 * `/llms.txt` (llmstxt.org): the name, a one-line summary, a few words of context, then H2 lists of
 * absolute links. The documentation links point into `/docs` and the full text at `/llms-full.txt`.
 */
export function buildLlmsTxt(d: DocsContext): string {
  const sections = docsSections(d);
  const link = (name: string, url: string, note: string) => `- [${name}](${url}): ${note}`;
  const docs = sections
    .filter((s) => s.id !== 'next-steps')
    .map((s) => link(s.title, `${d.publicUrl}/docs#${s.id}`, s.summary));
  const api = [
    link(
      'OpenAPI 3.1 description',
      `${d.publicUrl}/openapi.json`,
      'every route, schema, error and security scheme',
    ),
    link(
      'Sign up',
      `${d.publicUrl}/register`,
      'POST JSON {"email","password"} → 201 with a one-time api_key',
    ),
    link(
      'OAuth authorization server',
      `${d.publicUrl}/.well-known/oauth-authorization-server`,
      'agent sign-up: register (RFC 7591), authorization code + PKCE S256 with resource (RFC 8707); the user signs up or signs in and approves; the bearer token works wherever a key does, within its scopes',
    ),
    link('Models', `${d.publicUrl}/v1/models`, 'the models your key may use (needs the key)'),
    link(
      'MCP server',
      `${d.publicUrl}/mcp`,
      'Streamable HTTP; tools chat_completion, list_models, get_usage, get_balance',
    ),
    link(
      'A2A agent',
      `${d.publicUrl}/a2a`,
      'JSON-RPC; message/send and message/stream (SendMessage, SendStreamingMessage)',
    ),
  ];
  const agents = discoveryDocuments(d.publicUrl)
    .filter((doc) => doc.path !== '/llms.txt' && doc.path !== '/openapi.json')
    .map((doc) => link(doc.name, doc.url, doc.note));
  return [
    `# ${d.brandName}`,
    `> ${docsTagline(d)}`,
    `Base URL for OpenAI clients: ${d.publicUrl}/v1. Send the key as \`Authorization: Bearer sk-simo-…\` or \`X-API-Key: sk-simo-…\`, or an OAuth access token as \`Authorization: Bearer …\`. Default chat model: \`${d.chatModel}\`.`,
    `## Docs\n\n${docs.join('\n')}`,
    `## API\n\n${api.join('\n')}`,
    `## Agent discovery\n\n${agents.join('\n')}`,
    `## Optional\n\n${[
      link(
        'Migration guide',
        `${d.publicUrl}/compare`,
        'moving from OpenAI, Mistral or Hugging Face Inference',
      ),
      link('Health', `${d.publicUrl}/healthz`, 'liveness check'),
    ].join('\n')}`,
  ]
    .join('\n\n')
    .concat('\n');
}

/** `/llms-full.txt`: the whole developer documentation as one markdown file. */
export function buildLlmsFullTxt(d: DocsContext): string {
  const body = docsSections(d).map((s) => `## ${s.title}\n\n${s.markdown}`);
  return [`# ${d.brandName} developer documentation`, `> ${docsTagline(d)}`, ...body]
    .join('\n\n')
    .concat('\n');
}
