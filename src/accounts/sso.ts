import { randomBytes } from 'node:crypto';
import type * as oidc from 'openid-client';
import type { Config } from '../config/schema.js';
import type { Db } from '../shared/db.js';
import { ApiError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { recordAudit } from './audit-log.js';
import type { Role } from './roles.js';

type SsoConfig = NonNullable<Config['sso']>;

/** What the browser keeps between leaving for the issuer and coming back (an HttpOnly cookie). */
export interface SsoChecks {
  state: string;
  nonce: string;
  verifier: string;
}

/** Someone the issuer vouched for, signed in to an organization. */
export interface SsoSignIn {
  userId: string;
  tenantId: string;
  email: string;
}

/** openid-client (~0.5 MB of heap) is loaded by the first SSO sign-in, not by every gateway with SSO set up. */
const openidClient = () => import('openid-client');

// A password hash no password matches: people created by SSO sign in through the issuer (or reset).
const NO_PASSWORD = () => `sso$${randomBytes(16).toString('base64url')}`;

/**
 * Dashboard sign-in with OpenID Connect (authorization code with PKCE, state and nonce, via
 * openid-client). The issuer's verified email identifies the person; a person who belongs to no
 * organization yet joins the configured one with the default role, just in time.
 */
export class SsoService {
  private discovered: Promise<oidc.Configuration> | undefined;

  constructor(
    private readonly db: Db,
    private readonly config: SsoConfig,
    private readonly redirectUri: string,
  ) {}

  get label(): string {
    return this.config.name;
  }

  private issuer(): Promise<oidc.Configuration> {
    this.discovered ??= openidClient()
      .then((oidc) =>
        oidc.discovery(
          new URL(this.config.issuer),
          this.config.clientId,
          undefined,
          this.config.clientSecret ? oidc.ClientSecretPost(this.config.clientSecret) : oidc.None(),
          this.config.allowInsecureIssuer ? { execute: [oidc.allowInsecureRequests] } : undefined,
        ),
      )
      .catch((err: unknown) => {
        // Try discovery again on the next sign-in instead of remembering the failure.
        this.discovered = undefined;
        throw err;
      });
    return this.discovered;
  }

  /** Where to send the browser, and the checks to keep until it comes back. */
  async start(): Promise<{ url: string; checks: SsoChecks }> {
    const config = await this.issuer();
    const oidc = await openidClient();
    const checks: SsoChecks = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      verifier: oidc.randomPKCECodeVerifier(),
    };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      scope: 'openid email profile',
      state: checks.state,
      nonce: checks.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(checks.verifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, checks };
  }

  /** Completes the sign-in from the issuer's redirect: finds or creates the person and their membership. */
  async finish(callbackUrl: URL, checks: SsoChecks, ip: string | null): Promise<SsoSignIn> {
    const config = await this.issuer();
    const oidc = await openidClient();
    let claims: Record<string, unknown> | undefined;
    try {
      const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: checks.verifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      });
      const idToken = tokens.claims();
      claims = idToken;
      // Many providers put the email in the userinfo answer rather than the ID token.
      if (idToken && typeof idToken.email !== 'string')
        claims = {
          ...(await oidc.fetchUserInfo(config, tokens.access_token, idToken.sub)),
          sub: idToken.sub,
        };
    } catch {
      throw new ApiError('invalid_credentials', 'The single sign-on did not complete. Please try again.');
    }
    const email = typeof claims?.email === 'string' ? claims.email.trim().toLowerCase() : '';
    if (!email || claims?.email_verified !== true)
      throw new ApiError('permission_denied', 'The identity provider did not give a verified email address.');
    const domain = email.split('@')[1] ?? '';
    if (this.config.allowedDomains.length > 0 && !this.config.allowedDomains.includes(domain))
      throw new ApiError('permission_denied', `Sign-in with ${domain} addresses is not allowed here.`);
    return this.db.transaction().execute(async (trx) => {
      const now = Date.now();
      let user = await trx
        .selectFrom('users')
        .select(['id', 'tenant_id'])
        .where('email', '=', email)
        .executeTakeFirst();
      const target = this.config.organization;
      if (!user) {
        if (!target)
          throw new ApiError(
            'permission_denied',
            'There is no account for this address. Ask for an invitation.',
          );
        user = { id: newId('usr'), tenant_id: target };
        await trx
          .insertInto('users')
          .values({
            id: user.id,
            tenant_id: target,
            email,
            password_hash: NO_PASSWORD(),
            created_at: now,
            email_verified_at: now,
          })
          .execute();
      }
      const memberships = await trx
        .selectFrom('memberships')
        .select('tenant_id')
        .where('user_id', '=', user.id)
        .orderBy('created_at')
        .execute();
      let tenantId =
        memberships.find((m) => m.tenant_id === user.tenant_id)?.tenant_id ?? memberships[0]?.tenant_id;
      if (!tenantId) {
        if (!target) throw new ApiError('permission_denied', 'This login is no member of any organization.');
        const role: Role = this.config.defaultRole;
        await trx
          .insertInto('memberships')
          .values({ tenant_id: target, user_id: user.id, role, created_at: now })
          .execute();
        await recordAudit(trx, {
          tenantId: target,
          actor: `user:${user.id}`,
          action: 'member.joined',
          target: user.id,
          ip,
          detail: { email, role, via: 'sso', issuer: this.config.issuer },
        });
        tenantId = target;
      }
      await recordAudit(trx, {
        tenantId,
        actor: `user:${user.id}`,
        action: 'auth.sso_login',
        target: user.id,
        ip,
        detail: { issuer: this.config.issuer },
      });
      return { userId: user.id, tenantId, email };
    });
  }
}
