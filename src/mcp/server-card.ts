import type { ResolvedConfig } from '../config/load.js';

export const MCP_PATH = '/mcp';
export const SERVER_CARD_MEDIA_TYPE = 'application/mcp-server-card+json';
const SERVER_CARD_SCHEMA = 'https://static.modelcontextprotocol.io/schemas/v1/server-card.schema.json';

/** `simosphere-ai` from `SIMOSphere AI`: the part after the slash of the server name. */
export function slugOf(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'server'
  );
}

/**
 * The reverse-DNS namespace of the public host (`api.example.com` → `com.example.api`). Hosts without
 * a domain (an IP address, `localhost`) get `local.<slug>`, which still has the required shape.
 */
export function serverNameFor(publicUrl: string, brandName: string): string {
  const host = new URL(publicUrl).hostname.replace(/^\[|\]$/g, '');
  const slug = slugOf(brandName);
  const isIp = /^[\d.]+$/.test(host) || host.includes(':');
  const namespace =
    isIp || !host.includes('.') ? `local.${slug}` : host.split('.').reverse().join('.').toLowerCase();
  return `${namespace}/${slug}`;
}

/**
 * The MCP server card (experimental server-card extension), served as static JSON. The MCP SDK's
 * protocol module (~2 MB of heap) is loaded for its list of versions when the card is first asked for.
 */
export async function buildMcpServerCard(
  config: ResolvedConfig,
  version: string,
): Promise<Record<string, unknown>> {
  const { SUPPORTED_PROTOCOL_VERSIONS } = await import('@modelcontextprotocol/sdk/types.js');
  return {
    $schema: SERVER_CARD_SCHEMA,
    name: serverNameFor(config.publicUrl, config.brand.name),
    title: config.brand.name,
    version,
    description: 'Chat with hosted LLMs; check models, usage and balance. OAuth sign-up or API key.',
    websiteUrl: `${config.publicUrl}/docs#agent-discovery`,
    remotes: [
      {
        type: 'streamable-http',
        url: `${config.publicUrl}${MCP_PATH}`,
        supportedProtocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS],
      },
    ],
  };
}
