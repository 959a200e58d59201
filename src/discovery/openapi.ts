import { z } from 'zod';
import type { RouteSchema } from '../http/define-route.js';
import type { RouteSecurity } from '../http/route-docs.js';
import {
  anthropicErrorSchema,
  type ErrorResponseName,
  errorResponse,
  errorResponseName,
  openApiComponents,
  rateLimitHeaderRefs,
} from './openapi-components.js';
import type { DocumentedRoute } from './route-registry.js';

type JsonObject = Record<string, unknown>;

/** Every tag an operation may carry, in the order the document lists them, with what it groups. */
export const OPENAPI_TAGS: Record<string, string> = {
  Inference: 'The OpenAI-compatible data plane (`/v1`), and the Anthropic Messages API beside it',
  Agents: 'MCP and A2A endpoints',
  Accounts: 'Sign-up, sign-in and the dashboard session',
  'API keys': "The tenant's API keys: create, rotate, revoke",
  Billing: 'Credit balance, usage reports and monthly invoices',
  Webhooks: 'Signed event notifications: endpoints, test events and the delivery log',
  Members: "The organization's members, their roles and invitations",
  Audit: "The tenant's audit log",
  Operator: 'Platform operation behind the operator token (`SIMO_ADMIN_TOKEN`)',
  Discovery: 'Documents for agents and crawlers',
  Operations: 'Health checks and metrics',
};

/** The declared tags in use, in declaration order; a tag not declared is listed bare (and linted). */
function tagsOf(used: Set<string>): JsonObject[] {
  const declared = Object.entries(OPENAPI_TAGS)
    .filter(([name]) => used.has(name))
    .map(([name, description]) => ({ name, description }));
  const undeclared = [...used].filter((name) => !Object.hasOwn(OPENAPI_TAGS, name)).map((name) => ({ name }));
  return [...declared, ...undeclared];
}

/** What the document says about the platform itself. */
export interface OpenApiInfo {
  title: string;
  version: string;
  publicUrl: string;
  supportEmail: string;
}

const SECURITY: Record<RouteSecurity, Array<Record<string, string[]>>> = {
  apiKey: [{ bearerAuth: [] }, { apiKeyHeader: [] }],
  tenant: [{ bearerAuth: [] }, { apiKeyHeader: [] }, { sessionCookie: [] }],
  session: [{ sessionCookie: [] }],
  operator: [{ operatorToken: [] }],
  none: [],
};

/** Fastify path → OpenAPI path and its path parameters. `:id` → `{id}`; a trailing `*` → `{model}`/`{path}`. */
export function toOpenApiPath(url: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = url
    .split('/')
    .map((segment) => {
      if (segment.startsWith(':')) {
        const name = segment.slice(1).replace(/\(.*$/, '');
        params.push(name);
        return `{${name}}`;
      }
      if (segment === '*') {
        const name = url.startsWith('/v1/models/') ? 'model' : 'path';
        params.push(name);
        return `{${name}}`;
      }
      return segment;
    })
    .join('/');
  return { path, params };
}

/**
 * A zod schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect). Shared definitions zod emits under
 * `$defs` are moved to `components.schemas` so references resolve inside the document.
 */
export function toSchema(
  schema: z.ZodType,
  io: 'input' | 'output',
  components: Record<string, unknown>,
): JsonObject {
  const json = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as JsonObject;
  delete json.$schema;
  const defs = json.$defs as Record<string, unknown> | undefined;
  delete json.$defs;
  if (!defs) return withoutVacuousAnyOf(json) as JsonObject;
  for (const [name, def] of Object.entries(defs)) components[name] = withoutVacuousAnyOf(def);
  return withoutVacuousAnyOf(
    JSON.parse(JSON.stringify(json).replaceAll('"#/$defs/', '"#/components/schemas/')),
  ) as JsonObject;
}

const isEmptySchema = (v: unknown) =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0;

/**
 * `anyOf` with a member that accepts anything (zod writes `z.unknown().nullable()` as
 * `anyOf: [{}, {type: "null"}]`) accepts anything: linters flag it as illogical, so it becomes `{}`
 * (its description and other keywords kept).
 */
function withoutVacuousAnyOf(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutVacuousAnyOf);
  if (node === null || typeof node !== 'object') return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'anyOf' && Array.isArray(value) && value.some(isEmptySchema)) continue;
    out[key] = withoutVacuousAnyOf(value);
  }
  return out;
}

function operationId(method: string, path: string): string {
  const words = path
    .replace(/[{}]/g, '')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  return [method.toLowerCase(), ...words].join('_');
}

/** The route's one schema, as declared through `defineRoute`. */
const schemaOf = (route: DocumentedRoute): RouteSchema => route.schema ?? {};

/** A status answered without a body (`noContent`). */
const isNoContent = (schema: z.ZodType) => schema._zod.def.type === 'undefined';

/**
 * The error responses of one operation. A route that answers in Anthropic's envelope refers to the
 * Anthropic twin of each shared response, and `anthropic` collects the ones the document must define.
 */
function errorResponses(
  route: DocumentedRoute,
  schema: RouteSchema,
  hasPathParams: boolean,
  anthropic: Set<ErrorResponseName>,
) {
  const format = route.errorFormat ?? 'openai';
  const ref = (name: ErrorResponseName) => {
    if (format === 'anthropic') anthropic.add(name);
    return { $ref: `#/components/responses/${errorResponseName(name, format)}` };
  };
  const out: JsonObject = {};
  const doc = route.doc;
  const security = doc?.security ?? 'none';
  // Every operation can answer 400: a URL the router cannot read (or with a NUL) is refused before
  // any route runs; with a body, query or path parameters, so is a value their schema refuses.
  out['400'] = ref(schema.body || schema.querystring || schema.params ? 'BadRequest' : 'MalformedUrl');
  if (security !== 'none') {
    out['401'] = ref('Unauthorized');
    out['403'] = ref('Forbidden');
  }
  const metered = security === 'apiKey' && /^\/(v1|mcp|a2a)(\/|$)/.test(route.url);
  if (metered) out['402'] = ref('PaymentRequired');
  if (hasPathParams || metered) out['404'] = ref('NotFound');
  if (security === 'apiKey' || security === 'tenant') out['429'] = ref('RateLimited');
  out['500'] = ref('ServerError');
  if (metered || route.url === '/readyz') out['503'] = ref('Unavailable');
  return out;
}

function operation(
  route: DocumentedRoute,
  path: string,
  params: string[],
  components: Record<string, unknown>,
  anthropic: Set<ErrorResponseName>,
): JsonObject {
  const doc = route.doc;
  const schema = schemaOf(route);
  const security = doc?.security ?? 'none';
  const op: JsonObject = {
    operationId: operationId(route.method, path),
    summary: doc?.summary ?? `${route.method} ${path}`,
    ...(doc?.description ? { description: doc.description } : {}),
    tags: doc?.tags ?? ['Other'],
    security: SECURITY[security],
  };
  const pathSchemas = (schema.params ? toSchema(schema.params, 'input', components).properties : undefined) as
    | JsonObject
    | undefined;
  const parameters: JsonObject[] = params.map((name) => {
    const { description, ...paramSchema } = (pathSchemas?.[name] ?? { type: 'string' }) as JsonObject;
    const text = name === 'model' ? 'A model id such as `qwen/qwen3-8b` (slashes allowed)' : description;
    return { name, in: 'path', required: true, schema: paramSchema, ...(text ? { description: text } : {}) };
  });
  if (schema.querystring) {
    const query = toSchema(schema.querystring, 'input', components);
    const required = new Set((query.required as string[] | undefined) ?? []);
    for (const [name, schema] of Object.entries((query.properties as JsonObject | undefined) ?? {}))
      parameters.push({ name, in: 'query', required: required.has(name), schema });
  }
  if (parameters.length > 0) op.parameters = parameters;
  if (schema.body)
    op.requestBody = {
      required: true,
      content: { 'application/json': { schema: toSchema(schema.body, 'input', components) } },
    };

  const limited = security === 'apiKey' || security === 'tenant';
  const documented = Object.entries(schema.response ?? { 200: undefined });
  const successes: JsonObject = {};
  for (const [status, body] of documented) {
    // The first documented status is the route's main answer: it carries the content type and stream.
    const main = status === documented[0]?.[0];
    const content: JsonObject = {};
    if (!body || !isNoContent(body))
      content[(main && doc?.responseContentType) || 'application/json'] = body
        ? { schema: toSchema(body, 'output', components) }
        : {};
    if (main && doc?.streams)
      content['text/event-stream'] = {
        schema: {
          type: 'string',
          description: doc.streamEvents ?? 'SSE: `data: <chunk JSON>` events, ending with `data: [DONE]`',
        },
      };
    successes[status] = {
      description: Number(status) < 300 ? 'Success' : 'Failure, described by the body',
      ...(limited ? { headers: rateLimitHeaderRefs } : {}),
      ...(Object.keys(content).length > 0 ? { content } : {}),
    };
  }
  op.responses = { ...errorResponses(route, schema, params.length > 0, anthropic), ...successes };
  return op;
}

/** The whole OpenAPI 3.1 document for the routes registered so far. */
export function buildOpenApiDocument(routes: readonly DocumentedRoute[], info: OpenApiInfo): JsonObject {
  const schemas: Record<string, unknown> = {};
  const paths: Record<string, JsonObject> = {};
  const usedTags = new Set<string>();
  const anthropic = new Set<ErrorResponseName>();
  for (const route of routes) {
    if (route.doc?.hidden) continue;
    const { path, params } = toOpenApiPath(route.url);
    const item = paths[path] ?? {};
    const op = operation(route, path, params, schemas, anthropic);
    for (const tag of op.tags as string[]) usedTags.add(tag);
    item[route.method.toLowerCase()] = op;
    paths[path] = item;
  }
  const components = openApiComponents();
  // Anthropic's envelope is defined only when a route answers in it, so no component goes unused.
  const responses: JsonObject = { ...components.responses };
  for (const name of anthropic)
    responses[errorResponseName(name, 'anthropic')] = errorResponse(name, 'anthropic');
  if (anthropic.size > 0) schemas.AnthropicError = anthropicErrorSchema;
  return {
    openapi: '3.1.1',
    info: {
      title: `${info.title} API`,
      version: info.version,
      summary: 'OpenAI-compatible inference API with tenant self-service and agent discovery',
      description: `Docs: ${info.publicUrl}/docs. Get a key with POST ${info.publicUrl}/register.`,
      contact: { email: info.supportEmail },
      license: { name: 'Apache License 2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: info.publicUrl }],
    tags: tagsOf(usedTags),
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: { ...components, responses, schemas: { ...components.schemas, ...schemas } },
    externalDocs: { url: `${info.publicUrl}/docs`, description: 'Developer documentation' },
  };
}
