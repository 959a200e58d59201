import type { z } from 'zod';

/** How a route is authenticated, for the OpenAPI document. */
export type RouteSecurity = 'apiKey' | 'tenant' | 'operator' | 'session' | 'none';

/**
 * OpenAPI metadata a route declares next to its handler, in Fastify's route `config.openapi`.
 * The discovery module collects these at registration, so /openapi.json is generated from the very
 * schemas that validate requests.
 */
export interface RouteDoc {
  summary: string;
  tags: string[];
  security: RouteSecurity;
  /** The zod schema the handler validates the JSON body with. */
  body?: z.ZodType;
  /** Query parameters schema (a z.object). */
  query?: z.ZodType;
  /** Success response body schema, and its status (default 200). */
  response?: z.ZodType;
  responseStatus?: number;
  /** Content type of the success response when not JSON (e.g. text/event-stream, text/html). */
  responseContentType?: string;
  /** The route answers `text/event-stream` instead when the body asks for `"stream": true`. */
  streams?: boolean;
  /** Leave the route out of the public document (internal pages). */
  hidden?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    openapi?: RouteDoc;
  }
}
