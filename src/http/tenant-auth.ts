import type { preHandlerHookHandler } from 'fastify';
import type { Container } from '../container.js';
import { apiKeyAuth } from './api-key-auth.js';

/**
 * Authentication for tenant self-service routes (`/admin/*`): an API key with the `admin` scope,
 * or (once sessions exist) the dashboard session. Sets `request.auth`.
 */
export function tenantAuth(c: Container): preHandlerHookHandler {
  return apiKeyAuth(c, 'admin');
}
