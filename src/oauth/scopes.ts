import type { ApiKeyScope } from '../accounts/api-key-store.js';
import { can, type Permission, type Role } from '../accounts/roles.js';

/**
 * What an app can be allowed to do, in the terms of what keys can do: call the models, read usage,
 * read billing, manage keys, manage webhooks. A member can only grant what their own role allows.
 */
export const OAUTH_SCOPES = ['inference', 'usage:read', 'billing:read', 'keys', 'webhooks'] as const;
export type OAuthScope = (typeof OAUTH_SCOPES)[number];

export const isOAuthScope = (value: string): value is OAuthScope =>
  (OAUTH_SCOPES as readonly string[]).includes(value);

/** What the consent page says each scope allows. */
export const SCOPE_DESCRIPTIONS: Record<OAuthScope, string> = {
  inference: 'Call the models (chat, embeddings, MCP tools, A2A) and spend your credits',
  'usage:read': 'Read your usage reports',
  'billing:read': 'Read your balance and invoices',
  keys: 'Create, rotate and revoke API keys',
  webhooks: 'Create and delete webhooks',
};

/** The member permission a scope needs: a member can grant a scope only when their role has it. */
const SCOPE_PERMISSION: Record<OAuthScope, Permission | null> = {
  inference: null,
  'usage:read': 'usage',
  'billing:read': 'billing',
  keys: 'keys.own',
  webhooks: 'webhooks',
};

/** The requested scopes a member of `role` may grant. */
export function grantableScopes(requested: readonly OAuthScope[], role: Role): OAuthScope[] {
  return requested.filter((scope) => {
    const needed = SCOPE_PERMISSION[scope];
    return needed === null || can(role, needed);
  });
}

/** Parses a space-separated scope string, keeping only ours, in our order. */
export function parseScopes(scope: string | undefined): OAuthScope[] {
  const given = new Set((scope ?? '').split(/\s+/));
  return OAUTH_SCOPES.filter((s) => given.has(s));
}

/** The key scopes a token with these OAuth scopes stands for. */
export function keyScopesFor(scopes: readonly OAuthScope[]): ApiKeyScope[] {
  const out: ApiKeyScope[] = [];
  if (scopes.includes('inference')) out.push('inference');
  if (scopes.some((s) => s !== 'inference')) out.push('admin');
  return out;
}

/**
 * The OAuth scope a tenant route needs, from the permission the role table gives it and the method;
 * null when no scope covers it (members, audit, billing changes): tokens are refused there.
 */
export function scopeForRoute(permission: Permission, method: string): OAuthScope | null {
  const reading = method === 'GET' || method === 'HEAD';
  switch (permission) {
    case 'keys.own':
    case 'keys.manage':
      return 'keys';
    case 'webhooks':
      return 'webhooks';
    case 'usage':
      return reading ? 'usage:read' : null;
    case 'billing':
      return reading ? 'billing:read' : null;
    default:
      return null;
  }
}
