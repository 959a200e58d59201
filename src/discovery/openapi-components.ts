import { anthropicErrorType } from '../shared/anthropic-errors.js';
import { errorCodes } from '../shared/errors.js';

/** The session cookie the dashboard sets (see src/accounts/sessions.ts). */
const SESSION_COOKIE = 'simo_session';

const errorTypes = [...new Set(Object.values(errorCodes).map((k) => k.type))].sort();
const anthropicErrorTypes = [
  ...new Set(Object.values(errorCodes).map((k) => anthropicErrorType(k.status))),
].sort();

const header = (description: string, schema: Record<string, unknown> = { type: 'integer' }) => ({
  description,
  schema,
});

export const rateLimitHeaderRefs = {
  'X-RateLimit-Limit': { $ref: '#/components/headers/X-RateLimit-Limit' },
  'X-RateLimit-Remaining': { $ref: '#/components/headers/X-RateLimit-Remaining' },
  'X-RateLimit-Reset': { $ref: '#/components/headers/X-RateLimit-Reset' },
};

interface ErrorResponseText {
  description: string;
  /** The description in Anthropic's envelope, where it differs. */
  anthropic?: string;
  headers?: Record<string, unknown>;
}

/** The error responses operations refer to, by name: what each means and the headers it carries. */
const errorResponses = {
  BadRequest: {
    description: 'Malformed JSON, wrong types or values (`param` names the field), or a malformed URL',
    anthropic: 'Malformed JSON, wrong types or values (the message names the field), or a malformed URL',
  },
  MalformedUrl: { description: 'The URL cannot be read (bad percent-encoding, a NUL character)' },
  Unauthorized: {
    description: 'Missing, unknown, rotated or revoked API key',
    headers: {
      'WWW-Authenticate': header('`Bearer resource_metadata="…/.well-known/oauth-protected-resource"`', {
        type: 'string',
      }),
    },
  },
  PaymentRequired: { description: "The tenant's credit balance is exhausted (`insufficient_credits`)" },
  Forbidden: { description: 'Authenticated but not allowed (suspended tenant, key scope, origin)' },
  NotFound: { description: 'Unknown resource, or a model this tenant may not use (`model_not_found`)' },
  RateLimited: {
    description: 'Over the plan’s requests per minute',
    headers: { ...rateLimitHeaderRefs, 'Retry-After': { $ref: '#/components/headers/Retry-After' } },
  },
  ServerError: { description: 'A bug on our side; the message carries the request id' },
  Unavailable: { description: 'Every route of the model failed, or the service is not ready' },
} satisfies Record<string, ErrorResponseText>;

export type ErrorResponseName = keyof typeof errorResponses;

/** The error envelope a route answers in: OpenAI's (`Error`), or Anthropic's on the Messages API. */
export type ErrorFormat = 'openai' | 'anthropic';

const errorSchemaName: Record<ErrorFormat, string> = { openai: 'Error', anthropic: 'AnthropicError' };

/** Name of the shared response `name` in `format`: the OpenAI one is the bare name, e.g. `AnthropicNotFound`. */
export const errorResponseName = (name: ErrorResponseName, format: ErrorFormat) =>
  format === 'openai' ? name : `Anthropic${name}`;

/** The shared response `name` with a body in `format`'s envelope. */
export function errorResponse(name: ErrorResponseName, format: ErrorFormat) {
  const text: ErrorResponseText = errorResponses[name];
  return {
    description: (format === 'anthropic' && text.anthropic) || text.description,
    headers: { 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' }, ...text.headers },
    content: {
      'application/json': { schema: { $ref: `#/components/schemas/${errorSchemaName[format]}` } },
    },
  };
}

/** Anthropic's error envelope, which the Messages API (`/v1/messages`) answers in. */
export const anthropicErrorSchema = {
  type: 'object',
  description:
    'The error envelope of the Anthropic Messages API (`/v1/messages`), as Anthropic’s SDKs read it.',
  required: ['type', 'error', 'request_id'],
  properties: {
    type: { type: 'string', const: 'error' },
    error: {
      type: 'object',
      required: ['type', 'message'],
      properties: {
        type: { type: 'string', enum: anthropicErrorTypes },
        message: { type: 'string' },
      },
    },
    request_id: { type: 'string', description: 'Identifies the request in our logs' },
  },
};

/** The parts every operation refers to: error envelope, error responses, headers, security schemes. */
export function openApiComponents() {
  return {
    schemas: {
      Error: {
        type: 'object',
        description:
          'The error envelope of the whole API (OpenAI shape) but the Anthropic Messages API (`AnthropicError`); all four keys are always present.',
        required: ['error'],
        properties: {
          error: {
            type: 'object',
            required: ['message', 'type', 'param', 'code'],
            properties: {
              message: { type: 'string' },
              type: { type: 'string', enum: errorTypes },
              param: { type: ['string', 'null'], description: 'The request field at fault, if any' },
              code: {
                type: ['string', 'null'],
                examples: ['model_not_found', 'invalid_api_key', 'rate_limit_exceeded'],
              },
            },
          },
        },
      },
    },
    responses: Object.fromEntries(
      (Object.keys(errorResponses) as ErrorResponseName[]).map((name) => [
        name,
        errorResponse(name, 'openai'),
      ]),
    ),
    headers: {
      'X-RateLimit-Limit': header("Requests per minute of the tenant's plan"),
      'X-RateLimit-Remaining': header('Requests left in the current window'),
      'X-RateLimit-Reset': header('Unix time (seconds) when the window frees up'),
      'Retry-After': header('Seconds to wait before retrying (429 only)'),
      'X-Request-Id': header('Identifies the request in our logs', { type: 'string' }),
    },
    securitySchemes: {
      bearerAuth: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'sk-simo-…',
        description: 'An API key as `Authorization: Bearer sk-simo-…`. Get one with `POST /register`.',
      },
      apiKeyHeader: {
        type: 'apiKey',
        in: 'header',
        name: 'X-API-Key',
        description: 'The same API key as `X-API-Key: sk-simo-…`.',
      },
      sessionCookie: {
        type: 'apiKey',
        in: 'cookie',
        name: SESSION_COOKIE,
        description: 'Dashboard session after `POST /login`; state-changing calls also need the CSRF token.',
      },
      operatorToken: {
        type: 'http',
        scheme: 'bearer',
        description: 'The platform operator token (`SIMO_ADMIN_TOKEN`), for `/operator/*` only.',
      },
    },
  };
}
