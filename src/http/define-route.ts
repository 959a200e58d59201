import type { IncomingMessage, ServerResponse } from 'node:http';
import type {
  ContextConfigDefault,
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HTTPMethods,
  RawServerDefault,
  RouteGenericInterface,
  RouteHandlerMethod,
} from 'fastify';
import { z } from 'zod';
import type { AuthContext } from '../accounts/authenticator.js';
import { ApiError } from '../shared/errors.js';
import type { RouteDoc, RouteSecurity } from './route-docs.js';
import type { ZodTypeProvider } from './zod-schemas.js';

/**
 * A route's one schema: it validates the request (400 naming the parameter), types the handler,
 * becomes the route's part of /openapi.json, and (with `checkResponses`) checks every JSON response.
 */
export interface RouteSchema {
  params?: z.ZodType;
  querystring?: z.ZodType;
  body?: z.ZodType;
  /** Response body by status; `noContent` for a status without one (204). */
  response?: { [status: number]: z.ZodType };
}

/** The response schema of a status answered without a body. */
export const noContent = z.undefined();

export type TypedRequest<S extends RouteSchema> = FastifyRequest<
  RouteGenericInterface,
  RawServerDefault,
  IncomingMessage,
  S,
  ZodTypeProvider
>;

export type TypedReply<S extends RouteSchema> = FastifyReply<
  RouteGenericInterface,
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  ContextConfigDefault,
  S,
  ZodTypeProvider
>;

/** One step of a guard; runs before validation, throws an `ApiError` to refuse. */
export type GuardHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/**
 * How a route is protected: the hooks that run before its request is validated (so an unauthenticated
 * caller learns nothing about the body it sent), the security the document shows, and, as a type only,
 * what a passed guard guarantees on the request (e.g. `request.auth` is set).
 */
export interface Guard<Adds extends object = object> {
  readonly security: RouteSecurity;
  readonly hooks: readonly GuardHook[];
  /** Never set; carries `Adds` for the handler's request type. */
  readonly adds?: Adds;
}

/** What an authenticating guard guarantees: the caller's tenant and key (a stand-in key for a session). */
export interface Authenticated {
  auth: AuthContext;
}

export function guard<Adds extends object = object>(
  security: RouteSecurity,
  ...hooks: GuardHook[]
): Guard<Adds> {
  return { security, hooks };
}

/** Routes anyone may call. */
export const publicRoute: Guard = guard('none');

/** What a route says about itself in /openapi.json, besides its schema and security. */
export type RouteText = Omit<RouteDoc, 'security'> & {
  description: string;
};

export type RouteHandler<S extends RouteSchema, Adds extends object> = (
  request: TypedRequest<S> & Adds,
  reply: TypedReply<S>,
) => ReturnType<
  RouteHandlerMethod<
    RawServerDefault,
    IncomingMessage,
    ServerResponse,
    RouteGenericInterface,
    ContextConfigDefault,
    S,
    ZodTypeProvider
  >
>;

export interface RouteSpec<S extends RouteSchema, Adds extends object> {
  method: HTTPMethods;
  url: string;
  guard: Guard<Adds>;
  doc: RouteText;
  schema?: S;
  /** A request without a body means `{}`, every field's default, instead of a 400. */
  bodyOptional?: boolean;
  /** Checks that run after the guard and before validation (e.g. a form's CSRF token). */
  preValidation?: GuardHook[];
  /** Errors in Anthropic's envelope instead of OpenAI's (the Messages API). */
  errorFormat?: 'anthropic';
  /**
   * Keep the body exactly as sent in `request.sentBody` (validation replaces `request.body` with the
   * parsed value): surfaces that relay a request as it is to a native upstream need every field.
   */
  keepSentBody?: boolean;
  /** Handles this route's errors first; throw to hand the error on to the app's error envelope. */
  errorHandler?: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => unknown;
  handler: RouteHandler<S, Adds>;
}

const emptyBody = () =>
  new ApiError('invalid_json', 'The request body is empty; a JSON object was expected.');

/**
 * Registers a route from its one declaration. The guard's hooks run first, then the body check and
 * validation, then the handler, whose request is typed from the schema and the guard. The guard's
 * promise (say, `request.auth` is set) is a type only: the hook that throws otherwise is what keeps it.
 */
export function defineRoute<S extends RouteSchema, Adds extends object>(
  app: FastifyInstance,
  spec: RouteSpec<S, Adds>,
): void {
  const hooks: GuardHook[] = [...spec.guard.hooks, ...(spec.preValidation ?? [])];
  if (spec.schema?.body) hooks.push(spec.bodyOptional ? defaultEmptyBody : refuseEmptyBody);
  if (spec.keepSentBody) hooks.push(keepSentBody);
  app.route({
    method: spec.method,
    url: spec.url,
    ...(spec.schema ? { schema: spec.schema } : {}),
    ...(hooks.length > 0 ? { preValidation: hooks } : {}),
    ...(spec.errorHandler ? { errorHandler: spec.errorHandler } : {}),
    config: {
      openapi: { ...spec.doc, security: spec.guard.security },
      ...(spec.errorFormat ? { errorFormat: spec.errorFormat } : {}),
    },
    handler: spec.handler as unknown as RouteHandlerMethod,
  });
}

// Fastify hands validators `null` for an absent body; these tell "no body" from the JSON literal `null`.
async function refuseEmptyBody(request: FastifyRequest): Promise<void> {
  if (request.body === undefined) throw emptyBody();
}

async function defaultEmptyBody(request: FastifyRequest): Promise<void> {
  request.body ??= {};
}

async function keepSentBody(request: FastifyRequest): Promise<void> {
  request.sentBody = request.body;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The body as the client sent it, before validation (routes declared with `keepSentBody`). */
    sentBody: unknown;
  }
}
