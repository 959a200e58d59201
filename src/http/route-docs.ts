/** How a route is authenticated, for the OpenAPI document. */
export type RouteSecurity = 'apiKey' | 'tenant' | 'operator' | 'session' | 'none';

/**
 * OpenAPI metadata a route declares next to its handler, in Fastify's route `config.openapi`
 * (`defineRoute` writes it). The request and response schemas are the route's own Fastify `schema`,
 * the very zod schemas that validate requests, so /openapi.json cannot drift from the code.
 */
export interface RouteDoc {
  summary: string;
  /** What the operation does and when to use it: a sentence or two for readers of the document. */
  description?: string;
  tags: string[];
  security: RouteSecurity;
  /** Content type of the success response when not JSON (e.g. text/event-stream, text/html). */
  responseContentType?: string;
  /** The route answers `text/event-stream` instead when the body asks for `"stream": true`. */
  streams?: boolean;
  /** What the event stream carries, where it is not chat chunks ending with `data: [DONE]`. */
  streamEvents?: string;
  /** Leave the route out of the public document (internal pages). */
  hidden?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    openapi?: RouteDoc;
    /** Errors of this route in Anthropic's envelope instead of OpenAI's (the Messages API). */
    errorFormat?: 'anthropic';
  }
}
