import { AgentCard } from '@a2a-js/sdk';
import type { ResolvedConfig } from '../config/load.js';

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
  return {
    name: config.brand.name,
    description: `Answers text messages with ${config.brand.name}'s chat models (the first chat model the caller's account may use). Authenticate with an API key; get one with POST ${config.publicUrl}/register.`,
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
    },
    securityRequirements: [{ schemes: { [bearer]: { list: [] } } }, { schemes: { [apiKey]: { list: [] } } }],
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
export function hybridAgentCardJson(card: AgentCard): Record<string, unknown> {
  const json = AgentCard.toJSON(card) as Record<string, unknown>;
  const schemes = json.securitySchemes as Record<string, Record<string, unknown>>;
  const legacySchemes: Record<string, Record<string, unknown>> = {};
  for (const [name, scheme] of Object.entries(card.securitySchemes)) {
    const s = scheme.scheme;
    const legacy =
      s?.$case === 'httpAuthSecurityScheme'
        ? { type: 'http', scheme: s.value.scheme.toLowerCase(), bearerFormat: s.value.bearerFormat }
        : s?.$case === 'apiKeySecurityScheme'
          ? { type: 'apiKey', in: s.value.location, name: s.value.name }
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
