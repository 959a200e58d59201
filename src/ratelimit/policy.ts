import type { AuthContext } from '../accounts/authenticator.js';
import type { PlanConfig } from '../config/schema.js';

/** Requests per minute for a tenant: its negotiated override, else its plan's. */
export function rpmFor(auth: AuthContext, plans: Record<string, PlanConfig>): number {
  return auth.tenant.rpmOverride ?? plans[auth.tenant.plan]?.rpm ?? 60;
}

/** Tokens per minute for a tenant, when its plan sets one. */
export function tpmFor(auth: AuthContext, plans: Record<string, PlanConfig>): number | undefined {
  return plans[auth.tenant.plan]?.tpm;
}
