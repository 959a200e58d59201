import type { Mailer } from '../mail/mailer.js';
import type { Db } from '../shared/db.js';
import { ApiError } from '../shared/errors.js';
import { assertPasswordStrength, type TenantCreatedHook } from './account-service.js';
import { recordAudit } from './audit-log.js';
import { hashToken, isWellFormedToken, newOneTimeToken } from './one-time-token.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { findTenant } from './tenant-store.js';

/** A verification link is valid this long… */
export const VERIFY_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** …a password reset link only this long. */
export const RESET_TTL_MS = 60 * 60 * 1000;

type Purpose = 'verify' | 'reset';

/**
 * What is done through emailed one-time links: verifying the address (which grants the trial credits
 * when they wait for it) and resetting a forgotten password; and changing a password while signed in.
 * Links are single use and expire; only their SHA-256 is stored.
 */
export class EmailFlows {
  constructor(
    private readonly db: Db,
    private readonly mailer: Mailer,
    private readonly opts: {
      publicUrl: string;
      brandName: string;
      /** Grants the trial credits once the owner's address is verified. */
      grantTrial: TenantCreatedHook;
      now?: () => number;
    },
  ) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** Mails the verification link to a new owner. */
  async sendVerification(userId: string, email: string): Promise<void> {
    const token = await this.issue(userId, 'verify', VERIFY_TTL_MS);
    await this.mailer.send({
      to: email,
      subject: `Verify your email address for ${this.opts.brandName}`,
      text: [
        `Welcome to ${this.opts.brandName}.`,
        '',
        'Open this link to verify your email address; your trial credits are added when you do:',
        `${this.opts.publicUrl}/verify-email?token=${token}`,
        '',
        'The link works once and expires in 7 days. If you did not sign up, you can ignore this mail.',
        '',
      ].join('\n'),
    });
  }

  /**
   * Verifies the address behind a link and grants the trial credits of the organization the person
   * signed up with (once: the ledger's idempotency key makes a second grant a no-op).
   */
  async verifyEmail(token: unknown, ip: string | null): Promise<{ email: string }> {
    return this.db.transaction().execute(async (trx) => {
      const user = await this.consume(trx, token, 'verify');
      const now = this.now();
      await trx
        .updateTable('users')
        .set({ email_verified_at: now })
        .where('id', '=', user.id)
        .where('email_verified_at', 'is', null)
        .execute();
      const tenant = await findTenant(trx, user.tenant_id);
      // Only the organization this person signed up with (they own it: same email) gets the trial.
      if (tenant && tenant.email === user.email) await this.opts.grantTrial(trx, tenant);
      await recordAudit(
        trx,
        {
          tenantId: user.tenant_id,
          actor: `user:${user.id}`,
          action: 'account.email_verified',
          target: user.id,
          ip,
        },
        now,
      );
      return { email: user.email };
    });
  }

  /** Mails a reset link when the address has a login; says nothing either way to the caller. */
  async requestPasswordReset(email: string, ip: string | null): Promise<void> {
    const normalized = email.trim().toLowerCase();
    const user = await this.db
      .selectFrom('users')
      .select(['id', 'tenant_id', 'email'])
      .where('email', '=', normalized)
      .executeTakeFirst();
    if (!user) return;
    const token = await this.issue(user.id, 'reset', RESET_TTL_MS);
    await recordAudit(this.db, {
      tenantId: user.tenant_id,
      actor: 'anonymous',
      action: 'auth.password_reset_requested',
      target: user.id,
      ip,
    });
    await this.mailer.send({
      to: user.email,
      subject: `Reset your ${this.opts.brandName} password`,
      text: [
        'Someone (hopefully you) asked to reset the password of this account.',
        '',
        'Choose a new password here:',
        `${this.opts.publicUrl}/reset-password?token=${token}`,
        '',
        'The link works once and expires in one hour. If you did not ask for it, ignore this mail: your password stays as it is.',
        '',
      ].join('\n'),
    });
  }

  /** Whether a reset link is still usable (to show its form, or say it expired). */
  async resetLinkValid(token: unknown): Promise<boolean> {
    if (!isWellFormedToken(token)) return false;
    const row = await this.db
      .selectFrom('email_tokens')
      .select(['purpose', 'expires_at', 'used_at'])
      .where('token_hash', '=', hashToken(token))
      .executeTakeFirst();
    return !!row && row.purpose === 'reset' && row.used_at === null && Number(row.expires_at) > this.now();
  }

  /** Sets a new password from a reset link; every session of the person ends. */
  async resetPassword(token: unknown, password: string, ip: string | null): Promise<void> {
    assertPasswordStrength(password);
    const passwordHash = await hashPassword(password);
    await this.db.transaction().execute(async (trx) => {
      const user = await this.consume(trx, token, 'reset');
      await this.setPassword(trx, user.id, passwordHash);
      await trx.deleteFrom('sessions').where('user_id', '=', user.id).execute();
      // Resetting by mail also proves the address.
      await trx
        .updateTable('users')
        .set({ email_verified_at: this.now() })
        .where('id', '=', user.id)
        .where('email_verified_at', 'is', null)
        .execute();
      await recordAudit(trx, {
        tenantId: user.tenant_id,
        actor: `user:${user.id}`,
        action: 'auth.password_reset',
        target: user.id,
        ip,
      });
    });
  }

  /** Changes the password of a signed-in person; their other sessions end. */
  async changePassword(
    user: { id: string; tenantId: string },
    input: { current: string; next: string },
    keepSessionHash: string,
    ip: string | null,
  ): Promise<void> {
    const row = await this.db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', user.id)
      .executeTakeFirst();
    if (!row || !(await verifyPassword(input.current, row.password_hash)))
      throw new ApiError('invalid_credentials', 'The current password is not correct.', 'current_password');
    assertPasswordStrength(input.next, 'new_password');
    const passwordHash = await hashPassword(input.next);
    await this.db.transaction().execute(async (trx) => {
      await this.setPassword(trx, user.id, passwordHash);
      await trx
        .deleteFrom('sessions')
        .where('user_id', '=', user.id)
        .where('id_hash', '!=', keepSessionHash)
        .execute();
      await recordAudit(trx, {
        tenantId: user.tenantId,
        actor: `user:${user.id}`,
        action: 'auth.password_changed',
        target: user.id,
        ip,
      });
    });
  }

  private async setPassword(trx: Db, userId: string, passwordHash: string): Promise<void> {
    await trx.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', userId).execute();
    // Links issued before the change must not work after it.
    await trx
      .updateTable('email_tokens')
      .set({ used_at: this.now() })
      .where('user_id', '=', userId)
      .where('purpose', '=', 'reset')
      .where('used_at', 'is', null)
      .execute();
  }

  private async issue(userId: string, purpose: Purpose, ttlMs: number): Promise<string> {
    const now = this.now();
    const token = newOneTimeToken();
    await this.db.deleteFrom('email_tokens').where('expires_at', '<=', now).execute();
    await this.db
      .insertInto('email_tokens')
      .values({
        token_hash: token.hash,
        user_id: userId,
        purpose,
        created_at: now,
        expires_at: now + ttlMs,
        used_at: null,
      })
      .execute();
    return token.token;
  }

  /** Uses a link once: a second use, an expired link or one for another purpose fails with 400. */
  private async consume(trx: Db, token: unknown, purpose: Purpose) {
    if (!isWellFormedToken(token)) throw invalidLink();
    const now = this.now();
    const hash = hashToken(token);
    const used = await trx
      .updateTable('email_tokens')
      .set({ used_at: now })
      .where('token_hash', '=', hash)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    if (Number(used.numUpdatedRows) !== 1) throw invalidLink();
    const user = await trx
      .selectFrom('email_tokens')
      .innerJoin('users', 'users.id', 'email_tokens.user_id')
      .select(['users.id', 'users.tenant_id', 'users.email'])
      .where('email_tokens.token_hash', '=', hash)
      .executeTakeFirstOrThrow();
    return user;
  }
}

const invalidLink = () =>
  new ApiError('invalid_token', 'This link is not valid: it was already used or has expired.');
