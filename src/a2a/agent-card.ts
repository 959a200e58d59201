import type { AgentCard } from '@a2a-js/sdk';
import type { ResolvedConfig } from '../config/load.js';
import { OAUTH_ROUTES } from '../oauth/provider.js';
import { SCOPE_DESCRIPTIONS } from '../oauth/scopes.js';

/** Where the A2A JSON-RPC endpoint is mounted. */
export const A2A_PATH = '/a2a';

/**
 * Our agent card in A2A v1.0 terms, as the SDK's request handler needs it. It lists the JSON-RPC
 * endpoint twice, for protocol 1.0 and 0.3, because the server answers both (`SendMessage` and
 * `message/send`).
 */
export function buildAgentCard(config: ResolvedConfig, version: string): AgentCard {
  const url = `${config.publicUrl}${A2A_PATH}`;
  const bearer = 'bearer';
  const apiKey = 'apiKey';
  const oauth = 'oauth2';
  const base = config.publicUrl;
  return {
    name: config.brand.name,
    description: `Answers text messages with ${config.brand.name}'s chat models (the first chat model the caller's account may use). Authenticate with an API key (get one with POST ${config.publicUrl}/register) or an OAuth access token (authorization code with PKCE; the user signs up or signs in and approves).`,
    supportedInterfaces: [
      { url, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: '' },
      { url, protocolBinding: 'JSONRPC', protocolVersion: '0.3', tenant: '' },
    ],
    provider: { organization: config.brand.name, url: config.publicUrl },
    version,
    documentationUrl: `${config.publicUrl}/docs#agent-discovery`,
    capabilities: { streaming: true, pushNotifications: false, extensions: [] },
    securitySchemes: {
      [bearer]: {
        scheme: {
          $case: 'httpAuthSecurityScheme',
          value: { scheme: 'Bearer', bearerFormat: 'sk-simo-…', description: 'API key as a bearer token' },
        },
      },
      [apiKey]: {
        scheme: {
          $case: 'apiKeySecurityScheme',
          value: { location: 'header', name: 'X-API-Key', description: 'API key in the X-API-Key header' },
        },
      },
      [oauth]: {
        scheme: {
          $case: 'oauth2SecurityScheme',
          value: {
            description:
              'OAuth 2.1 access token: register dynamically (RFC 7591), then authorization code with PKCE (S256); the user signs up or signs in and approves the scopes.',
            oauth2MetadataUrl: `${base}/.well-known/oauth-authorization-server`,
            flows: {
              flow: {
                $case: 'authorizationCode',
                value: {
                  authorizationUrl: `${base}${OAUTH_ROUTES.authorization}`,
                  tokenUrl: `${base}${OAUTH_ROUTES.token}`,
                  refreshUrl: `${base}${OAUTH_ROUTES.token}`,
                  scopes: { ...SCOPE_DESCRIPTIONS },
                  pkceRequired: true,
                },
              },
            },
          },
        },
      },
    },
    securityRequirements: [
      { schemes: { [bearer]: { list: [] } } },
      { schemes: { [apiKey]: { list: [] } } },
      { schemes: { [oauth]: { list: ['inference'] } } },
    ],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [
      {
        id: 'chat',
        name: 'Chat',
        description: 'Answers a text message with a large language model; streaming supported.',
        tags: ['chat', 'llm', 'text-generation'],
        examples: ['Summarise the following paragraph in one sentence: …'],
        inputModes: ['text/plain'],
        outputModes: ['text/plain'],
        securityRequirements: [],
      },
    ],
    signatures: [],
  };
}

/**
 * The card as served at `/.well-known/agent-card.json` and `/.well-known/agent.json`: the v1.0 JSON
 * plus the v0.3 fields (`url`, `preferredTransport`, `protocolVersion`, `security`, and the v0.3 shape
 * of each security scheme), so clients of either version read it without negotiating.
 */
export async function hybridAgentCardJson(card: AgentCard): Promise<Record<string, unknown>> {
  // The SDK (~1 MB of heap) is loaded when the card is first asked for.
  const sdk = await import('@a2a-js/sdk');
  const json = sdk.AgentCard.toJSON(card) as Record<string, unknown>;
  const schemes = json.securitySchemes as Record<string, Record<string, unknown>>;
  const legacySchemes: Record<string, Record<string, unknown>> = {};
  for (const [name, scheme] of Object.entries(card.securitySchemes)) {
    const s = scheme.scheme;
    const legacy =
      s?.$case === 'httpAuthSecurityScheme'
        ? { type: 'http', scheme: s.value.scheme.toLowerCase(), bearerFormat: s.value.bearerFormat }
        : s?.$case === 'apiKeySecurityScheme'
          ? { type: 'apiKey', in: s.value.location, name: s.value.name }
          : s?.$case === 'oauth2SecurityScheme'
            ? { type: 'oauth2', oauth2MetadataUrl: s.value.oauth2MetadataUrl, flows: legacyFlows(s.value) }
            : {};
    legacySchemes[name] = { ...schemes[name], ...legacy, description: s?.value.description };
  }
  const primary = card.supportedInterfaces[0];
  return {
    ...json,
    securitySchemes: legacySchemes,
    url: primary?.url,
    preferredTransport: 'JSONRPC',
    protocolVersion: '0.3.0',
    security: card.securityRequirements.map((r) =>
      Object.fromEntries(Object.entries(r.schemes).map(([k, v]) => [k, v.list])),
    ),
  };
}

/** The v0.3 (OpenAPI-like) shape of an OAuth scheme's flows. */
function legacyFlows(scheme: { flows: { flow?: { $case: string; value: unknown } } | undefined }) {
  const flow = scheme.flows?.flow;
  if (flow?.$case !== 'authorizationCode') return {};
  const { authorizationUrl, tokenUrl, refreshUrl, scopes } = flow.value as {
    authorizationUrl: string;
    tokenUrl: string;
    refreshUrl: string;
    scopes: Record<string, string>;
  };
  return { authorizationCode: { authorizationUrl, tokenUrl, refreshUrl, scopes } };
}
