import type { User } from '@a2a-js/sdk/server';
import type { AuthContext } from '../accounts/authenticator.js';

/** The A2A SDK's notion of the caller, carrying our authenticated tenant and key. */
export class TenantUser implements User {
  constructor(
    readonly auth: AuthContext,
    /** The HTTP request id, used for usage records. */
    readonly requestId: string,
    readonly startedAt: number,
    /** Aborts when the HTTP client goes away. */
    readonly signal: AbortSignal,
  ) {}

  get isAuthenticated(): boolean {
    return true;
  }

  /** Tasks are scoped by this: one tenant never sees another's. */
  get userName(): string {
    return this.auth.tenant.id;
  }
}
