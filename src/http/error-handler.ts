import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { anthropicErrorBody } from '../shared/anthropic-errors.js';
import { ApiError } from '../shared/errors.js';

/** Maps Fastify's own errors (body parsing, limits) onto our error codes. */
function fromFastifyError(err: FastifyError): ApiError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('request_too_large', 'The request body is too large.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(
        'unsupported_media_type',
        'Send the request body as JSON with "Content-Type: application/json".',
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError('invalid_json', 'The request body is empty; a JSON object was expected.');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError('invalid_request', 'The Content-Length header does not match the body.');
  }
  if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY')
    return new ApiError('invalid_json', 'We could not parse the JSON body of your request.');
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500)
    return new ApiError('invalid_request', err.message);
  return undefined;
}

/** The path suffix of the protected resource a URL belongs to ('' for the whole API). */
export function resourcePathOf(url: string): string {
  const path = url.split('?')[0] ?? '';
  const match = /^\/(v1|mcp|a2a)(?:\/|$)/.exec(path);
  return match ? `/${match[1]}` : '';
}

/**
 * Whether an error goes out in Anthropic's envelope: on a route that says so, and, where no route
 * matched (unknown path, wrong method, malformed URL), anywhere under the Messages surface, so an
 * Anthropic client calling e.g. `/v1/messages/batches` gets an error it can read.
 */
function answersInAnthropicShape(request: FastifyRequest): boolean {
  const format = request.routeOptions?.config?.errorFormat;
  if (format !== undefined) return format === 'anthropic';
  if (request.routeOptions?.url !== undefined) return false;
  return /^\/v1\/messages(?:[/?]|$)/.test(request.url);
}

/** Sends the OpenAI envelope. Unknown errors become a 500 with only the request id exposed. */
export function sendError(
  err: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  publicUrl: string,
): FastifyReply {
  let apiError = err instanceof ApiError ? err : fromFastifyError(err as FastifyError);
  if (!apiError) {
    request.log.error({ err, reqId: request.id }, 'unhandled error');
    apiError = new ApiError(
      'internal_error',
      `The server had an error while processing your request (request id ${request.id}).`,
    );
  }
  for (const [k, v] of Object.entries(apiError.headers)) reply.header(k, v);
  // RFC 9728 §5.1: point at the metadata of the resource that was called (path-scoped for /mcp, /v1, /a2a).
  const metadata = `resource_metadata="${publicUrl}/.well-known/oauth-protected-resource${resourcePathOf(request.url)}"`;
  if (apiError.status === 401) reply.header('www-authenticate', `Bearer ${metadata}`);
  else if (apiError.headers['www-authenticate'])
    reply.header('www-authenticate', `${apiError.headers['www-authenticate']}, ${metadata}`);
  const body = answersInAnthropicShape(request)
    ? anthropicErrorBody(apiError, request.id)
    : apiError.toBody();
  return reply.code(apiError.status).type('application/json; charset=utf-8').send(body);
}

export function installErrorHandling(
  app: FastifyInstance,
  publicUrl: string,
  allowedMethods: (url: string) => string[],
) {
  app.setErrorHandler((err, request, reply) => sendError(err, request, reply, publicUrl));
  app.setNotFoundHandler((request, reply) => {
    const methods = allowedMethods(request.url);
    if (methods.length > 0) {
      reply.header('allow', methods.join(', '));
      return sendError(
        new ApiError(
          'method_not_allowed',
          `Method ${request.method} is not allowed on ${request.url.split('?')[0]}.`,
        ),
        request,
        reply,
        publicUrl,
      );
    }
    return sendError(
      new ApiError('not_found', `No route for ${request.method} ${request.url.split('?')[0]}.`),
      request,
      reply,
      publicUrl,
    );
  });
}
