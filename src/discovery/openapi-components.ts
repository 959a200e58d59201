import { errorCodes } from '../shared/errors.js';

/** The session cookie the dashboard sets (see src/accounts/sessions.ts). */
const SESSION_COOKIE = 'simo_session';

const errorTypes = [...new Set(Object.values(errorCodes).map((k) => k.type))].sort();

const header = (description: string, schema: Record<string, unknown> = { type: 'integer' }) => ({
  description,
  schema,
});

export const rateLimitHeaderRefs = {
  'X-RateLimit-Limit': { $ref: '#/components/headers/X-RateLimit-Limit' },
  'X-RateLimit-Remaining': { $ref: '#/components/headers/X-RateLimit-Remaining' },
  'X-RateLimit-Reset': { $ref: '#/components/headers/X-RateLimit-Reset' },
};

function errorResponse(description: string, headers: Record<string, unknown> = {}) {
  return {
    description,
    headers: { 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' }, ...headers },
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  };
}

/** The parts every operation refers to: error envelope, error responses, headers, security schemes. */
export function openApiComponents() {
  return {
    schemas: {
      Error: {
        type: 'object',
        description:
          'The one error envelope of the whole API (OpenAI shape); all four keys are always present.',
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
    responses: {
      BadRequest: errorResponse(
        'Malformed JSON, wrong types or values (`param` names the field), or a malformed URL',
      ),
      MalformedUrl: errorResponse('The URL cannot be read (bad percent-encoding, a NUL character)'),
      Unauthorized: errorResponse('Missing, unknown, rotated or revoked API key', {
        'WWW-Authenticate': header('`Bearer resource_metadata="…/.well-known/oauth-protected-resource"`', {
          type: 'string',
        }),
      }),
      PaymentRequired: errorResponse("The tenant's credit balance is exhausted (`insufficient_credits`)"),
      Forbidden: errorResponse('Authenticated but not allowed (suspended tenant, key scope, origin)'),
      NotFound: errorResponse('Unknown resource, or a model this tenant may not use (`model_not_found`)'),
      RateLimited: errorResponse('Over the plan’s requests per minute', {
        ...rateLimitHeaderRefs,
        'Retry-After': { $ref: '#/components/headers/Retry-After' },
      }),
      ServerError: errorResponse('A bug on our side; the message carries the request id'),
      Unavailable: errorResponse('Every route of the model failed, or the service is not ready'),
    },
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
