import { randomBytes } from 'node:crypto';
import type { Db } from '../shared/db.js';
import { ApiError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { generateApiKey } from './api-key-format.js';
import { ALL_SCOPES, insertApiKey } from './api-key-store.js';
import { recordAudit } from './audit-log.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { insertTenant, type Tenant } from './tenant-store.js';

/** Work other features do inside the sign-up transaction (e.g. granting trial credits). */
export type TenantCreatedHook = (trx: Db, tenant: Tenant) => Promise<void>;

export interface NewAccount {
  tenant: Tenant;
  keyId: string;
  /** The API key in plain text: returned to the caller once and never stored. */
  apiKey: string;
  /** The owner's user id, when the account was created with a password (self sign-up). */
  userId: string | null;
  /** True when the trial credits wait for the owner to verify their email address. */
  verificationRequired: boolean;
}

export interface CreateAccountInput {
  email: string;
  /** Absent for tenants created by the operator or CLI without a login. */
  password?: string;
  plan?: string;
  name?: string;
  actor: string;
  ip?: string | null;
}

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** An email address as logins and invites store it (trimmed, lower case); 400 when it is not one. */
export function normalizeEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (!EMAIL_PATTERN.test(email) || email.length > 320)
    throw new ApiError('invalid_parameter', 'A valid email address is required.', 'email');
  return email;
}
export const MIN_PASSWORD_LENGTH = 10;

/** The one password rule of every form that sets a password (sign-up, reset, change, invite). */
export function assertPasswordStrength(password: string, param = 'password'): void {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new ApiError(
      'invalid_parameter',
      `The password must be at least ${MIN_PASSWORD_LENGTH} characters long.`,
      param,
    );
}

export class AccountService {
  constructor(
    private readonly db: Db,
    private readonly opts: {
      signupPlan: string;
      plans: string[];
      onTenantCreated: TenantCreatedHook[];
      /** Grants the sign-up trial credits; run at creation unless they wait for a verified email. */
      grantTrial?: TenantCreatedHook;
      /** Self sign-ups get their trial credits only once their email address is verified. */
      requireVerifiedEmail?: boolean;
      /**
       * After a tenant is created without a login (operator, CLI): e.g. invite its owner by email, so
       * they can sign in.
       */
      onOwnerlessTenant?: (tenant: Tenant, by: { actor: string; ip: string | null }) => Promise<void>;
    },
  ) {}

  /** Creates a tenant, its owner (when a password is given) and a first API key, in one transaction. */
  async createAccount(input: CreateAccountInput): Promise<NewAccount> {
    const email = normalizeEmail(input.email);
    if (input.password !== undefined) assertPasswordStrength(input.password);
    const plan = input.plan ?? this.opts.signupPlan;
    if (!this.opts.plans.includes(plan))
      throw new ApiError(
        'invalid_parameter',
        `Unknown plan '${plan}'. Known plans: ${this.opts.plans.join(', ')}.`,
        'plan',
      );

    const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
    const now = Date.now();
    const tenant: Tenant = {
      id: newId('ten'),
      name: input.name?.trim() || email,
      email,
      plan,
      rpmOverride: null,
      allowedModels: null,
      suspended: false,
      createdAt: now,
    };
    const generated = generateApiKey();
    const keyId = newId('key');
    const userId = passwordHash === null ? null : newId('usr');
    const verificationRequired = userId !== null && this.opts.requireVerifiedEmail === true;

    try {
      await this.db.transaction().execute(async (trx) => {
        await insertTenant(trx, tenant);
        if (passwordHash !== null && userId !== null) {
          await trx
            .insertInto('users')
            .values({
              id: userId,
              tenant_id: tenant.id,
              email,
              password_hash: passwordHash,
              created_at: now,
              email_verified_at: null,
            })
            .execute();
          await trx
            .insertInto('memberships')
            .values({ tenant_id: tenant.id, user_id: userId, role: 'owner', created_at: now })
            .execute();
        }
        await insertApiKey(trx, {
          id: keyId,
          tenantId: tenant.id,
          name: 'Default key',
          hash: generated.hash,
          prefix: generated.prefix,
          last4: generated.last4,
          scopes: ALL_SCOPES,
          createdAt: now,
          lastUsedAt: null,
          revokedAt: null,
        });
        await recordAudit(trx, {
          tenantId: tenant.id,
          actor: userId === null ? input.actor : `user:${userId}`,
          action: userId === null ? 'tenant.created' : 'account.signed_up',
          target: tenant.id,
          ip: input.ip ?? null,
          detail: { plan, key_id: keyId, email, via: input.actor },
        });
        for (const hook of this.opts.onTenantCreated) await hook(trx, tenant);
        if (this.opts.grantTrial && !verificationRequired) await this.opts.grantTrial(trx, tenant);
      });
    } catch (err) {
      if (isUniqueViolation(err))
        throw new ApiError('email_taken', 'An account with this email already exists.', 'email');
      throw err;
    }
    if (userId === null && this.opts.onOwnerlessTenant)
      await this.opts.onOwnerlessTenant(tenant, { actor: input.actor, ip: input.ip ?? null });
    return { tenant, keyId, apiKey: generated.key, userId, verificationRequired };
  }

  /**
   * Checks an email and password. Unknown emails cost the same scrypt work as known ones, so the
   * answer time does not tell which emails have accounts. Returns the user, or null.
   */
  async verifyLogin(email: string, password: string): Promise<LoginUser | null> {
    const normalized = email.trim().toLowerCase();
    const user = await this.db
      .selectFrom('users')
      .select(['id', 'tenant_id', 'email', 'password_hash'])
      .where('email', '=', normalized)
      .executeTakeFirst();
    const ok = await verifyPassword(password, user?.password_hash ?? (await dummyHash()));
    if (!user || !ok) return null;
    return { id: user.id, tenantId: await this.homeOrganization(user.id, user.tenant_id), email: user.email };
  }

  /**
   * The organization a sign-in starts in: the one the person joined first, if they are still a member
   * of it, else any other; null when they belong to none any more.
   */
  async homeOrganization(userId: string, preferred: string): Promise<string | null> {
    const rows = await this.db
      .selectFrom('memberships')
      .select('tenant_id')
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .execute();
    return rows.find((r) => r.tenant_id === preferred)?.tenant_id ?? rows[0]?.tenant_id ?? null;
  }

  /** The tenant owning a user's email, for audit entries about failed logins. */
  async tenantIdOfEmail(email: string): Promise<string | null> {
    const row = await this.db
      .selectFrom('users')
      .select('tenant_id')
      .where('email', '=', email.trim().toLowerCase())
      .executeTakeFirst();
    return row?.tenant_id ?? null;
  }
}

/** A user who proved their password. */
export interface LoginUser {
  id: string;
  /** The organization the session starts in; null when the person is no member of any. */
  tenantId: string | null;
  email: string;
}

let dummy: Promise<string> | undefined;
// A real hash of a throwaway password, computed once, to spend equal time on unknown emails.
const dummyHash = () => {
  dummy ??= hashPassword(randomBytes(16).toString('hex'));
  return dummy;
};

/** Both drivers' way of saying a UNIQUE constraint failed (PostgreSQL uses 23505 for primary keys too). */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string } | null;
  return (
    e?.code === '23505' ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}
