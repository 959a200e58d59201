/**
 * Roles of an organization's members and what each may do. One table decides every `/admin/*` route
 * and every dashboard page, so the API, the pages and the security suite cannot disagree.
 */
export const ROLES = ['owner', 'admin', 'developer', 'billing'] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (value: unknown): value is Role =>
  typeof value === 'string' && (ROLES as readonly string[]).includes(value);

/** Things a member may be allowed to do. */
export type Permission =
  /** Create keys; list, rotate and revoke their own (`keys.manage` extends this to every key). */
  | 'keys.own'
  /** Every key of the organization, and key limits. */
  | 'keys.manage'
  | 'webhooks'
  | 'members'
  | 'usage'
  /** Balance, credits, invoices. */
  | 'billing'
  /** Buy credits with a card, save the card and set auto top-up. */
  | 'payments'
  | 'audit'
  | 'playground';

const GRANTS: Record<Role, readonly Permission[]> = {
  owner: [
    'keys.own',
    'keys.manage',
    'webhooks',
    'members',
    'usage',
    'billing',
    'payments',
    'audit',
    'playground',
  ],
  admin: ['keys.own', 'keys.manage', 'webhooks', 'members', 'usage', 'billing', 'audit', 'playground'],
  developer: ['keys.own', 'usage', 'playground'],
  billing: ['usage', 'billing', 'payments'],
};

export const can = (role: Role, permission: Permission): boolean => GRANTS[role].includes(permission);

/** Roles that may be given by someone of `role`: only an owner makes owners. */
export const assignableBy = (role: Role): readonly Role[] =>
  role === 'owner' ? ROLES : role === 'admin' ? ['admin', 'developer', 'billing'] : [];

/**
 * Whether someone of `role` may obtain a key that acts as `keyRole` (rotating a key hands out its
 * secret): their own role, or one they may give. An admin never gets an owner's key.
 */
export const mayHoldKeyOf = (role: Role, keyRole: Role): boolean =>
  keyRole === role || assignableBy(role).includes(keyRole);

/**
 * The permission each tenant route needs, by `METHOD pattern`. A route under `/admin/` missing from
 * this table needs `members` (owners and admins only), so a new route is never open by accident.
 */
const ROUTE_PERMISSIONS: Record<string, Permission> = {
  'GET /admin/keys': 'keys.own',
  'POST /admin/keys': 'keys.own',
  'POST /admin/keys/rotate': 'keys.own',
  'DELETE /admin/keys/:id': 'keys.own',
  'PATCH /admin/keys/:id': 'keys.manage',
  'GET /admin/usage': 'usage',
  'GET /admin/usage/records': 'usage',
  'GET /admin/balance': 'billing',
  'GET /admin/invoices': 'billing',
  'GET /admin/invoices/:id': 'billing',
  'POST /admin/billing/checkout': 'payments',
  'GET /admin/billing/payments': 'billing',
  'GET /admin/billing/auto-topup': 'billing',
  'PUT /admin/billing/auto-topup': 'payments',
  'POST /admin/billing/auto-topup/card': 'payments',
  'GET /admin/audit': 'audit',
  'GET /admin/members': 'members',
  'POST /admin/members/invite': 'members',
  'PATCH /admin/members/:id': 'members',
  'DELETE /admin/members/:id': 'members',
  'POST /dashboard/playground/chat': 'playground',
};

/** The permission a tenant route (method and registered URL pattern) requires. */
export function permissionForRoute(method: string, pattern: string): Permission {
  const exact = ROUTE_PERMISSIONS[`${method.toUpperCase()} ${pattern}`];
  if (exact) return exact;
  if (pattern.startsWith('/admin/webhooks')) return 'webhooks';
  return 'members';
}

/** The permission a dashboard page needs; the overview and account pages are open to every member. */
export function permissionForPage(path: string): Permission | null {
  if (path.startsWith('/dashboard/keys')) return 'keys.own';
  if (path.startsWith('/dashboard/usage')) return 'usage';
  if (path.startsWith('/dashboard/billing')) return 'billing';
  if (path.startsWith('/dashboard/webhooks')) return 'webhooks';
  if (path.startsWith('/dashboard/audit')) return 'audit';
  if (path.startsWith('/dashboard/members')) return 'members';
  if (path.startsWith('/dashboard/playground')) return 'playground';
  return null;
}
