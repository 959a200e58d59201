import type { Mailer } from '../mail/mailer.js';
import type { Db } from '../shared/db.js';
import { ApiError, notFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { assertPasswordStrength, isUniqueViolation, normalizeEmail } from './account-service.js';
import { recordAudit } from './audit-log.js';
import {
  assertMayAssign,
  auditMemberChange,
  type MemberActor,
  type MemberView,
  memberView,
  roleIn,
} from './members.js';
import { hashToken, isWellFormedToken, newOneTimeToken } from './one-time-token.js';
import { hashPassword } from './passwords.js';
import type { Role } from './roles.js';

/** An invite link is valid this long. */
export const INVITE_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** A pending invite found by its link. */
export interface OpenInvite {
  id: string;
  tenantId: string;
  organization: string;
  email: string;
  role: Role;
  expiresAt: number;
}

/**
 * Invitations to organizations by email: one-time, expiring links that are sent, listed while pending,
 * withdrawn, and accepted by signing in or signing up. Every change is audited.
 */
export class InvitationService {
  constructor(
    private readonly db: Db,
    private readonly mailer: Mailer,
    private readonly opts: {
      publicUrl: string;
      brandName: string;
      now?: () => number;
    },
  ) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** Invites not yet accepted, withdrawn or expired, oldest first. */
  async listPending(tenantId: string): Promise<MemberView[]> {
    const invites = await this.db
      .selectFrom('invites')
      .select(['id', 'email', 'role', 'created_at', 'expires_at'])
      .where('tenant_id', '=', tenantId)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', this.now())
      .orderBy('created_at')
      .execute();
    return invites.map((i) => memberView(i, 'invited', i.expires_at));
  }

  /**
   * Invites an email address with a role and mails the link. A new invite replaces a pending one for
   * the same address. Only owners invite owners.
   */
  async invite(tenantId: string, input: { email: string; role: Role }, by: MemberActor): Promise<MemberView> {
    const email = normalizeEmail(input.email);
    assertMayAssign(by, input.role);
    const now = this.now();
    const token = newOneTimeToken();
    const id = newId('inv');
    const expiresAt = now + INVITE_TTL_MS;
    const organization = await this.db.transaction().execute(async (trx) => {
      const tenant = await trx
        .selectFrom('tenants')
        .select('name')
        .where('id', '=', tenantId)
        .executeTakeFirst();
      if (!tenant) throw notFound('The organization');
      const existing = await trx
        .selectFrom('memberships')
        .innerJoin('users', 'users.id', 'memberships.user_id')
        .select('users.id')
        .where('memberships.tenant_id', '=', tenantId)
        .where('users.email', '=', email)
        .executeTakeFirst();
      if (existing)
        throw new ApiError('conflict', 'This person is already a member of the organization.', 'email');
      await trx
        .updateTable('invites')
        .set({ revoked_at: now })
        .where('tenant_id', '=', tenantId)
        .where('email', '=', email)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .execute();
      await trx
        .insertInto('invites')
        .values({
          id,
          tenant_id: tenantId,
          email,
          role: input.role,
          token_hash: token.hash,
          invited_by: by.actor,
          created_at: now,
          expires_at: expiresAt,
          accepted_at: null,
          accepted_by: null,
          revoked_at: null,
        })
        .execute();
      await auditMemberChange(trx, tenantId, by, 'member.invited', id, { email, role: input.role }, now);
      return tenant.name;
    });
    const inviter = by.userId
      ? ((await this.db.selectFrom('users').select('email').where('id', '=', by.userId).executeTakeFirst())
          ?.email ?? null)
      : null;
    await this.mailer.send({
      to: email,
      subject: `You are invited to ${organization} on ${this.opts.brandName}`,
      text: [
        `${inviter ?? 'The platform operator'} invited you to join the organization "${organization}" on ${this.opts.brandName} as ${input.role}.`,
        '',
        'Accept the invitation:',
        `${this.opts.publicUrl}/invite/${token.token}`,
        '',
        `The link works once and expires on ${new Date(expiresAt).toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
        'If you did not expect this invitation, you can ignore this mail.',
        '',
      ].join('\n'),
    });
    return {
      id,
      object: 'member',
      email,
      role: input.role,
      status: 'invited',
      created: Math.floor(now / 1000),
      expires: Math.floor(expiresAt / 1000),
    };
  }

  /** Withdraws a pending invite (`inv_…`) inside the caller's transaction. */
  async revoke(trx: Db, tenantId: string, inviteId: string, by: MemberActor, now: number): Promise<void> {
    const revoked = await trx
      .updateTable('invites')
      .set({ revoked_at: now })
      .where('id', '=', inviteId)
      .where('tenant_id', '=', tenantId)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(revoked.numUpdatedRows) !== 1) throw notFound('The invite');
    await auditMemberChange(trx, tenantId, by, 'member.invite_revoked', inviteId, undefined, now);
  }

  /** The pending invite behind a link, or null when unknown, used, withdrawn or expired. */
  async findInvite(token: unknown): Promise<OpenInvite | null> {
    if (!isWellFormedToken(token)) return null;
    const row = await this.db
      .selectFrom('invites')
      .innerJoin('tenants', 'tenants.id', 'invites.tenant_id')
      .select([
        'invites.id',
        'invites.tenant_id',
        'invites.email',
        'invites.role',
        'invites.expires_at',
        'invites.accepted_at',
        'invites.revoked_at',
        'tenants.name',
      ])
      .where('invites.token_hash', '=', hashToken(token))
      .executeTakeFirst();
    if (!row || row.accepted_at !== null || row.revoked_at !== null || Number(row.expires_at) <= this.now())
      return null;
    return {
      id: row.id,
      tenantId: row.tenant_id,
      organization: row.name,
      email: row.email,
      role: row.role as Role,
      expiresAt: Number(row.expires_at),
    };
  }

  /**
   * Accepts an invite for a signed-in user whose email it was sent to: they become a member with the
   * invited role (someone who already is a member keeps their role).
   */
  async accept(token: unknown, user: { id: string; email: string }, ip: string | null): Promise<OpenInvite> {
    const invite = await this.findInvite(token);
    if (!invite) throw invalidInvite();
    if (invite.email !== user.email.toLowerCase())
      throw new ApiError(
        'permission_denied',
        `This invitation was sent to ${invite.email}. Sign in with that address to accept it.`,
      );
    await this.db.transaction().execute(async (trx) => {
      await this.claim(trx, invite, user.id);
      if ((await roleIn(trx, invite.tenantId, user.id)) === null)
        await trx
          .insertInto('memberships')
          .values({ tenant_id: invite.tenantId, user_id: user.id, role: invite.role, created_at: this.now() })
          .execute();
      // Following the link proves the address.
      await trx
        .updateTable('users')
        .set({ email_verified_at: this.now() })
        .where('id', '=', user.id)
        .where('email_verified_at', 'is', null)
        .execute();
      await this.auditJoin(trx, invite, user.id, ip);
    });
    return invite;
  }

  /** Accepts an invite by creating the person's login: their address is verified by the link. */
  async acceptWithSignUp(
    token: unknown,
    password: string,
    ip: string | null,
  ): Promise<{ invite: OpenInvite; userId: string }> {
    const invite = await this.findInvite(token);
    if (!invite) throw invalidInvite();
    assertPasswordStrength(password);
    const passwordHash = await hashPassword(password);
    const userId = newId('usr');
    const now = this.now();
    try {
      await this.db.transaction().execute(async (trx) => {
        await this.claim(trx, invite, userId);
        await trx
          .insertInto('users')
          .values({
            id: userId,
            tenant_id: invite.tenantId,
            email: invite.email,
            password_hash: passwordHash,
            created_at: now,
            email_verified_at: now,
          })
          .execute();
        await trx
          .insertInto('memberships')
          .values({ tenant_id: invite.tenantId, user_id: userId, role: invite.role, created_at: now })
          .execute();
        await this.auditJoin(trx, invite, userId, ip);
      });
    } catch (err) {
      if (isUniqueViolation(err))
        throw new ApiError(
          'email_taken',
          'An account with this email already exists. Sign in to accept.',
          'email',
        );
      throw err;
    }
    return { invite, userId };
  }

  /** Marks the invite used; a second acceptance of the same link (a race) fails here. */
  private async claim(trx: Db, invite: OpenInvite, userId: string): Promise<void> {
    const claimed = await trx
      .updateTable('invites')
      .set({ accepted_at: this.now(), accepted_by: userId })
      .where('id', '=', invite.id)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) throw invalidInvite();
  }

  private async auditJoin(trx: Db, invite: OpenInvite, userId: string, ip: string | null): Promise<void> {
    await recordAudit(
      trx,
      {
        tenantId: invite.tenantId,
        actor: `user:${userId}`,
        action: 'member.joined',
        target: userId,
        ip,
        detail: { invite_id: invite.id, email: invite.email, role: invite.role },
      },
      this.now(),
    );
  }
}

const invalidInvite = () =>
  new ApiError('invalid_token', 'This invitation link is not valid: it was used, withdrawn or has expired.');
