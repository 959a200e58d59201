import type { User } from '@a2a-js/sdk/server';
import type { AuthContext } from '../accounts/authenticator.js';
import type { CountedRequest } from '../ratelimit/model-call-limit.js';

/** The A2A SDK's notion of the caller, carrying our authenticated tenant and key. */
export class TenantUser implements User {
  constructor(
    readonly auth: AuthContext,
    /** The HTTP request id, used for usage records. */
    readonly requestId: string,
    readonly startedAt: number,
    /** Aborts when the HTTP client goes away. */
    readonly signal: AbortSignal,
    /** The HTTP request's rate-limit count, which covers the model call it makes. */
    readonly counted: CountedRequest | null = null,
  ) {}

  get isAuthenticated(): boolean {
    return true;
  }

  /** Tasks are scoped by this: one tenant never sees another's. */
  get userName(): string {
    return this.auth.tenant.id;
  }
}
