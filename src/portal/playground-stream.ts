import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SurfaceDeps } from '../gateway/inference-pipeline.js';
import { registerChatCompletionsRoute } from '../gateway/routes/chat-completions.js';
import { type Authenticated, guard } from '../http/define-route.js';
import { type TenantAuthDeps, tenantAuth } from '../http/tenant-auth.js';
import { ApiError } from '../shared/errors.js';

/** Where the playground page posts its chat request (same body and SSE answer as `/v1/chat/completions`). */
export const PLAYGROUND_CHAT_PATH = '/dashboard/playground/chat';

/** The playground is for the signed-in page; programs use `/v1/chat/completions` with their key. */
async function sessionCallersOnly(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  if (request.headers.authorization !== undefined || request.headers['x-api-key'] !== undefined)
    throw new ApiError(
      'forbidden',
      'The playground endpoint is for dashboard sessions. Call /v1/chat/completions with your API key.',
    );
}

/**
 * Serves the very `/v1/chat/completions` handler a second time, at `PLAYGROUND_CHAT_PATH`,
 * authenticated by the dashboard session (cookie + `x-csrf-token`, via `tenantAuth`) instead of an
 * API key. The request therefore goes through the same validation, routing, streaming, rate limit and
 * metering (`key_id` "session") as any API call, while the data-plane auth stays untouched.
 */
/** The chat surface's dependencies and the tenant guard (its session side). */
export type PlaygroundDeps = SurfaceDeps & TenantAuthDeps;

export function registerPlaygroundStream(app: FastifyInstance, deps: PlaygroundDeps): void {
  const signedIn = guard<Authenticated>('session', sessionCallersOnly, ...tenantAuth(deps));
  registerChatCompletionsRoute(app, deps, signedIn, {
    url: PLAYGROUND_CHAT_PATH,
    doc: {
      summary: 'Dashboard playground: a streamed chat completion for the signed-in tenant',
      description: 'The chat completions handler behind the dashboard session.',
      tags: ['portal'],
      hidden: true,
      streams: true,
    },
  });
}
