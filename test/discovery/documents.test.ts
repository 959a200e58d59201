import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/** Every discovery document, checked against its standard's required fields and formats. */
const PUBLIC = 'https://api.example.test';
let g: TestGateway;

beforeAll(async () => {
  g = await startTestGateway({ env: { SIMO_PUBLIC_URL: PUBLIC } });
});
afterAll(() => g?.stop());

const get = (path: string, init?: RequestInit) => fetch(`${g.url}${path}`, init);
// biome-ignore lint/suspicious/noExplicitAny: the tests read deep into documents whose shape they check
type Doc = Record<string, any>;
const json = async (path: string) => {
  const res = await get(path);
  expect(res.status, path).toBe(200);
  return { res, body: (await res.json()) as Doc };
};
const isAbsolute = (url: unknown) => typeof url === 'string' && url.startsWith(`${PUBLIC}/`);

describe('OpenAPI 3.1', () => {
  it('validates against the official 3.1 schema and describes every route', async () => {
    const { res, body } = await json('/openapi.json');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const validator = new Validator();
    const result = await validator.validate(body);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(body.servers[0].url).toBe(PUBLIC);

    const schemes = body.components.securitySchemes;
    expect(schemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(schemes.apiKeyHeader).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-API-Key' });
    expect(body.components.schemas.Error.required).toEqual(['error']);

    const paths = body.paths;
    for (const p of ['/v1/chat/completions', '/v1/embeddings', '/register'])
      expect(paths[p].post.requestBody.content['application/json'].schema, p).toBeTypeOf('object');
    expect(paths['/v1/models/{model}'].get.parameters[0]).toMatchObject({ name: 'model', in: 'path' });
    expect(Object.keys(paths).some((p) => p.includes('*') || p.includes(':'))).toBe(false);

    const chat = paths['/v1/chat/completions'].post;
    expect(chat.security).toEqual([{ bearerAuth: [] }, { apiKeyHeader: [] }]);
    for (const status of ['400', '401', '402', '403', '404', '429', '500', '503'])
      expect(chat.responses[status], status).toBeDefined();
    expect(chat.responses['200'].headers['X-RateLimit-Limit']).toBeDefined();
    expect(chat.responses['200'].content['text/event-stream']).toBeDefined();
    expect(body.components.responses.RateLimited.headers['Retry-After']).toBeDefined();
    const messages = chat.requestBody.content['application/json'].schema.properties.messages;
    expect(messages.type).toBe('array');

    // The request schema is the validator's own: its limits show up in the document.
    const chatProps = chat.requestBody.content['application/json'].schema.properties;
    expect(chatProps.temperature.anyOf?.[0] ?? chatProps.temperature).toMatchObject({ maximum: 2 });
    expect(messages.minItems).toBe(1);

    // Every route declares its own metadata (the generic fallback is tagged 'Other').
    const undocumented = Object.entries(paths).flatMap(([p, item]) =>
      Object.entries(item as Doc)
        .filter(([, op]) => (op as Doc).tags.includes('Other'))
        .map(([m]) => `${m.toUpperCase()} ${p}`),
    );
    expect(undocumented).toEqual([]);

    // Discovery and agent endpoints are in the document too.
    for (const p of ['/openapi.json', '/llms.txt', '/.well-known/api-catalog', '/mcp', '/a2a'])
      expect(paths[p], p).toBeDefined();
  });

  it('documents the Messages API errors in the Anthropic envelope they are answered in', async () => {
    const { body } = await json('/openapi.json');
    const anthropic = body.components.schemas.AnthropicError;
    expect(anthropic.required).toEqual(['type', 'error', 'request_id']);
    for (const path of ['/v1/messages', '/v1/messages/count_tokens']) {
      const errors = Object.entries(body.paths[path].post.responses as Doc).filter(([s]) => Number(s) >= 400);
      expect(errors.length, path).toBeGreaterThan(0);
      for (const [status, response] of errors) {
        const name = String(response.$ref).replace('#/components/responses/', '');
        const schema = body.components.responses[name]?.content['application/json'].schema;
        expect(schema, `${path} ${status}`).toEqual({ $ref: '#/components/schemas/AnthropicError' });
      }
    }
    const chat404 = String(body.paths['/v1/chat/completions'].post.responses['404'].$ref);
    expect(body.components.responses[chat404.split('/').pop()!].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/Error',
    });

    // What the route answers has the documented shape.
    const res = await get('/v1/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(401);
    const error = (await res.json()) as Doc;
    for (const key of anthropic.required) expect(error, key).toHaveProperty(key);
    expect(anthropic.properties.error.properties.type.enum).toContain(error.error.type);
  });
});

describe('llms.txt', () => {
  it('has an H1, a summary, H2 link lists with absolute URLs and an Optional section', async () => {
    const res = await get('/llms.txt');
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const text = await res.text();
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^# \S/);
    expect(text).toMatch(/\n> \S/);
    expect(text).toContain('\n## Optional\n');
    const links = [...text.matchAll(/^- \[([^\]]+)\]\(([^)]+)\)(: .+)?$/gm)];
    expect(links.length).toBeGreaterThan(10);
    for (const [, , url] of links) expect(isAbsolute(url), url).toBe(true);
  });

  it('llms-full.txt is the whole documentation with real model ids and publicUrl examples', async () => {
    const res = await get('/llms-full.txt');
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const text = await res.text();
    expect(text).toMatch(/^# /);
    for (const fact of [
      `curl ${PUBLIC}/v1/chat/completions`,
      'qwen/qwen3-8b',
      'X-API-Key: sk-simo-',
      'key.rotated',
      'X-SIMO-Signature: sha256=',
      'webhook-signature: v1,',
      'X-RateLimit-Reset',
      'Retry-After',
      '60 requests per minute',
      '600 requests per minute',
      'data: [DONE]',
      '/.well-known/api-catalog',
      'usage.threshold_reached',
      'audit.flagged',
      'invoice.created',
    ])
      expect(text, fact).toContain(fact);
    for (const status of ['400', '401', '402', '403', '404', '429', '500', '503'])
      expect(text).toContain(`| ${status} |`);
    expect(text).not.toMatch(/api\.simosphereai\.com/);
  });
});

describe('well-known documents', () => {
  it('RFC 9728 protected resource metadata, root and path-scoped', async () => {
    for (const suffix of ['', '/v1', '/mcp']) {
      const { res, body } = await json(`/.well-known/oauth-protected-resource${suffix}`);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(body.resource).toBe(`${PUBLIC}${suffix}`);
      expect(body.bearer_methods_supported).toEqual(['header']);
      expect(isAbsolute(body.resource_documentation)).toBe(true);
      expect(Array.isArray(body.scopes_supported)).toBe(true);
      // Our own authorization server, whose RFC 8414 metadata is at the root well-known path.
      expect(body.authorization_servers).toEqual([PUBLIC]);
      for (const value of Object.values(body)) expect(value).not.toBeNull();
    }
  });

  it('RFC 9727 api-catalog: linkset media type, HEAD with Link, absolute anchors', async () => {
    const { res, body } = await json('/.well-known/api-catalog');
    expect(res.headers.get('content-type')).toBe(
      'application/linkset+json; profile="https://www.rfc-editor.org/info/rfc9727"',
    );
    expect(Array.isArray(body.linkset)).toBe(true);
    const entry = body.linkset[0];
    expect(entry.anchor).toBe(PUBLIC);
    for (const rel of ['service-desc', 'service-doc', 'status'])
      for (const target of entry[rel]) expect(isAbsolute(target.href), rel).toBe(true);
    const head = await get('/.well-known/api-catalog', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('link')).toBe(`<${PUBLIC}/.well-known/api-catalog>; rel="api-catalog"`);
  });

  it('A2A card: hybrid v1.0 + v0.3 fields, same at both paths, Vary and Cache-Control', async () => {
    const { res, body } = await json('/.well-known/agent-card.json');
    expect(res.headers.get('vary')).toMatch(/A2A-Version/i);
    expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/);
    for (const k of ['name', 'description', 'version', 'defaultInputModes', 'defaultOutputModes'])
      expect(body[k], k).toBeDefined();
    expect(body.supportedInterfaces).toContainEqual({
      url: `${PUBLIC}/a2a`,
      protocolBinding: 'JSONRPC',
      protocolVersion: '1.0',
    });
    expect(body.capabilities.streaming).toBe(true);
    expect(body.skills[0]).toMatchObject({ id: 'chat', name: expect.any(String), tags: expect.any(Array) });
    expect(body.securitySchemes.bearer.httpAuthSecurityScheme.scheme).toBe('Bearer');
    expect(body.securitySchemes.bearer.type).toBe('http');
    expect(body.securityRequirements[0].schemes).toHaveProperty('bearer');
    expect(body).toMatchObject({
      url: `${PUBLIC}/a2a`,
      preferredTransport: 'JSONRPC',
      protocolVersion: '0.3.0',
      security: [{ bearer: [] }, { apiKey: [] }, { oauth2: ['inference'] }],
    });
    const legacy = await get('/.well-known/agent.json');
    expect(await legacy.json()).toEqual(body);
  });

  it('MCP server card: media type, required fields, same bytes at both paths, CORS, ETag and 304', async () => {
    const res = await get('/.well-known/mcp/server-card.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/mcp-server-card+json');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('cache-control')).toBe('public, max-age=3600');
    const etag = res.headers.get('etag');
    expect(etag).toMatch(/^"[^"]+"$/);
    const text = await res.text();
    const card = JSON.parse(text);
    expect(card.$schema).toBe('https://static.modelcontextprotocol.io/schemas/v1/server-card.schema.json');
    expect(card.name).toMatch(/^[a-z0-9.-]+\/[a-z0-9._-]+$/);
    expect(card.name).toBe('test.example.api/simosphere-ai');
    expect(card.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(card.description.length).toBeLessThanOrEqual(100);
    expect(card.remotes).toEqual([
      { type: 'streamable-http', url: `${PUBLIC}/mcp`, supportedProtocolVersions: expect.any(Array) },
    ]);
    const other = await get('/mcp/server-card');
    expect(await other.text()).toBe(text);
    expect(other.headers.get('etag')).toBe(etag);
    const cached = await get('/mcp/server-card', { headers: { 'if-none-match': etag! } });
    expect(cached.status).toBe(304);
  });

  it('ai-plugin.json within the legacy manifest limits', async () => {
    const { body } = await json('/.well-known/ai-plugin.json');
    expect(body.schema_version).toBe('v1');
    expect(body.name_for_human.length).toBeLessThanOrEqual(20);
    expect(body.name_for_model).toMatch(/^\S{1,50}$/);
    expect(body.description_for_human.length).toBeLessThanOrEqual(100);
    expect(body.description_for_model.length).toBeLessThanOrEqual(8000);
    expect(['service_http', 'user_http']).toContain(body.auth.type);
    expect(body.auth.authorization_type).toBe('bearer');
    expect(body.api).toEqual({ type: 'openapi', url: `${PUBLIC}/openapi.json` });
    for (const k of ['logo_url', 'legal_info_url']) expect(isAbsolute(body[k]), k).toBe(true);
    expect(body.contact_email).toMatch(/@/);
  });
});

describe('401s point at the RFC 9728 metadata', () => {
  it.each([
    ['GET', '/v1/models'],
    ['POST', '/v1/chat/completions'],
    ['POST', '/mcp'],
    ['POST', '/a2a'],
  ])('%s %s', async (method, path) => {
    const res = await get(path, {
      method,
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-simo-wrong' },
      ...(method === 'POST' ? { body: '{}' } : {}),
    });
    expect(res.status).toBe(401);
    // Path-scoped (RFC 9728 §3.1): the metadata of the resource that was called.
    const resource = /^\/(v1|mcp|a2a)/.exec(path)?.[0] ?? '';
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${PUBLIC}/.well-known/oauth-protected-resource${resource}"`,
    );
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  });
});
