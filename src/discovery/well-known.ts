import type { ResolvedConfig } from '../config/load.js';
import { slugOf } from '../mcp/server-card.js';
import { OAUTH_SCOPES } from '../oauth/scopes.js';

export const API_CATALOG_MEDIA_TYPE =
  'application/linkset+json; profile="https://www.rfc-editor.org/info/rfc9727"';

/** The resources that have their own RFC 9728 metadata, by path suffix ('' is the whole API). */
export const PROTECTED_RESOURCES = ['', '/v1', '/mcp', '/a2a'] as const;

/**
 * RFC 9728 protected-resource metadata. The authorization server is our own (issuer: the public URL,
 * metadata at `/.well-known/oauth-authorization-server`): an agent registers itself, sends its user
 * to sign up or sign in and approve, and gets a bearer token accepted wherever a key is. API keys
 * (from `POST /register` or the dashboard) are bearer tokens too.
 */
export function protectedResourceMetadata(config: ResolvedConfig, path: string): Record<string, unknown> {
  return {
    resource: `${config.publicUrl}${path}`,
    resource_name: `${config.brand.name} API`,
    authorization_servers: [config.publicUrl],
    resource_documentation: `${config.publicUrl}/docs#agent-discovery`,
    bearer_methods_supported: ['header'],
    scopes_supported: [...OAUTH_SCOPES],
  };
}

/** RFC 9727 api-catalog as an RFC 9264 linkset. */
export function apiCatalog(config: ResolvedConfig): Record<string, unknown> {
  const base = config.publicUrl;
  return {
    linkset: [
      {
        anchor: base,
        'service-desc': [{ href: `${base}/openapi.json`, type: 'application/json' }],
        'service-doc': [{ href: `${base}/docs`, type: 'text/html' }],
        status: [{ href: `${base}/healthz`, type: 'application/json' }],
      },
    ],
  };
}

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** The legacy OpenAI plugin manifest; lengths are the manifest's limits. */
export function aiPluginManifest(config: ResolvedConfig): Record<string, unknown> {
  const base = config.publicUrl;
  return {
    schema_version: 'v1',
    name_for_human: clip(config.brand.name, 20),
    name_for_model: slugOf(config.brand.name).replaceAll('-', '_').slice(0, 50),
    description_for_human: clip(
      `Chat completions and embeddings from ${config.brand.name}'s hosted models.`,
      100,
    ),
    description_for_model: clip(
      `OpenAI-compatible API. Use POST /v1/chat/completions with {"model","messages"} to generate text, GET /v1/models to list the models the user's key may use, POST /v1/embeddings for vectors; POST /v1/responses (OpenAI Responses API), POST /v1/messages (Anthropic Messages API, key in x-api-key, Anthropic-shaped errors) and POST /v1/completions (legacy) answer too. Authenticate with the user's API key as a bearer token. Errors are JSON {"error":{"type","code","message","param"}}; on 429 wait Retry-After seconds. Docs: ${base}/llms-full.txt`,
      8000,
    ),
    auth: { type: 'user_http', authorization_type: 'bearer' },
    api: { type: 'openapi', url: `${base}/openapi.json` },
    logo_url: `${base}/logo.svg`,
    contact_email: config.brand.supportEmail,
    legal_info_url: `${base}/docs`,
  };
}

/** A plain square logo with the brand's initial, so the manifest's `logo_url` resolves. */
export function logoSvg(config: ResolvedConfig): string {
  const initial = (config.brand.name.trim()[0] ?? 'S').toUpperCase().replace(/[<>&"']/g, '');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128"><rect width="128" height="128" rx="24" fill="#1f3a8a"/><text x="64" y="84" font-family="sans-serif" font-size="64" text-anchor="middle" fill="#fff">${initial}</text></svg>`;
}
