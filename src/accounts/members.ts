import type { Mailer } from '../mail/mailer.js';
import type { Db } from '../shared/db.js';
import { ApiError, notFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { isUniqueViolation, MIN_PASSWORD_LENGTH } from './account-service.js';
import { recordAudit } from './audit-log.js';
import { hashToken, isWellFormedToken, newOneTimeToken } from './one-time-token.js';
import { hashPassword } from './passwords.js';
import { assignableBy, type Role } from './roles.js';

/** An invite link is valid this long. */
export const INVITE_TTL_MS = 7 * 24 * 60 * 60 * 1000;
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Who changes the membership of an organization, for checks and the audit log. */
export interface MemberActor {
  /** `user:<id>`, `key:<id>`, `operator`, `cli`. */
  actor: string;
  /** The actor's role in the organization (`owner` for the operator and the CLI). */
  role: Role;
  /** The acting member's user id, when a member acts. */
  userId: string | null;
  ip: string | null;
}

/** A member or a pending invite, as `GET /admin/members` lists them. */
export interface MemberView {
  /** `usr_…` for a member, `inv_…` for a pending invite. */
  id: string;
  object: 'member';
  email: string;
  role: Role;
  status: 'active' | 'invited';
  /** Unix seconds: joined, or invited. */
  created: number;
  /** Unix seconds, for a pending invite. */
  expires: number | null;
}

/** An organization a user belongs to. */
export interface Organization {
  tenantId: string;
  name: string;
  role: Role;
}

/** A pending invite found by its link. */
export interface OpenInvite {
  id: string;
  tenantId: string;
  organization: string;
  email: string;
  role: Role;
  expiresAt: number;
}

const seconds = (ms: number) => Math.floor(ms / 1000);

/**
 * Members of organizations: listing, invitations by email (one-time, expiring links), role changes and
 * removal. Every change is audited. An organization always keeps at least one owner.
 */
export class MemberService {
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

  async list(tenantId: string): Promise<MemberView[]> {
    const members = await this.db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select(['users.id', 'users.email', 'memberships.role', 'memberships.created_at'])
      .where('memberships.tenant_id', '=', tenantId)
      .orderBy('memberships.created_at')
      .execute();
    const invites = await this.db
      .selectFrom('invites')
      .select(['id', 'email', 'role', 'created_at', 'expires_at'])
      .where('tenant_id', '=', tenantId)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', this.now())
      .orderBy('created_at')
      .execute();
    return [
      ...members.map((m) => memberView(m, 'active', null)),
      ...invites.map((i) => memberView(i, 'invited', i.expires_at)),
    ];
  }

  /** The organizations a user belongs to, by name. */
  async organizationsOf(userId: string): Promise<Organization[]> {
    const rows = await this.db
      .selectFrom('memberships')
      .innerJoin('tenants', 'tenants.id', 'memberships.tenant_id')
      .select(['tenants.id', 'tenants.name', 'memberships.role'])
      .where('memberships.user_id', '=', userId)
      .orderBy('tenants.name')
      .execute();
    return rows.map((r) => ({ tenantId: r.id, name: r.name, role: r.role as Role }));
  }

  /** The user's role in an organization, or null when not a member. */
  async roleOf(tenantId: string, userId: string): Promise<Role | null> {
    const row = await this.db
      .selectFrom('memberships')
      .select('role')
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row ? (row.role as Role) : null;
  }

  /**
   * Invites an email address with a role and mails the link. A new invite replaces a pending one for
   * the same address. Only owners invite owners.
   */
  async invite(tenantId: string, input: { email: string; role: Role }, by: MemberActor): Promise<MemberView> {
    const email = input.email.trim().toLowerCase();
    if (!EMAIL_PATTERN.test(email) || email.length > 320)
      throw new ApiError('invalid_parameter', 'A valid email address is required.', 'email');
    this.assertMayAssign(by, input.role);
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
      await recordAudit(
        trx,
        {
          tenantId,
          actor: by.actor,
          action: 'member.invited',
          target: id,
          ip: by.ip,
          detail: { email, role: input.role },
        },
        now,
      );
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
      created: seconds(now),
      expires: seconds(expiresAt),
    };
  }

  /** Changes a member's role. Owners change anyone; admins neither make nor change owners. */
  async changeRole(tenantId: string, memberId: string, role: Role, by: MemberActor): Promise<MemberView> {
    this.assertMayAssign(by, role);
    const now = this.now();
    await this.db.transaction().execute(async (trx) => {
      const current = await this.memberRole(trx, tenantId, memberId);
      if (current === 'owner' && by.role !== 'owner')
        throw new ApiError('permission_denied', 'Only an owner can change the role of an owner.');
      if (current === role) return;
      if (current === 'owner') await this.assertAnotherOwner(trx, tenantId, memberId);
      await trx
        .updateTable('memberships')
        .set({ role })
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', memberId)
        .execute();
      await recordAudit(
        trx,
        {
          tenantId,
          actor: by.actor,
          action: 'member.role_changed',
          target: memberId,
          ip: by.ip,
          detail: { from: current, to: role },
        },
        now,
      );
    });
    const view = (await this.list(tenantId)).find((m) => m.id === memberId);
    if (!view) throw notFound('The member');
    return view;
  }

  /**
   * Removes a member (their sessions in the organization end at once; the keys they created stay,
   * with their creator recorded), or withdraws a pending invite (`inv_…`).
   */
  async remove(tenantId: string, memberId: string, by: MemberActor): Promise<void> {
    const now = this.now();
    await this.db.transaction().execute(async (trx) => {
      if (memberId.startsWith('inv_')) {
        const revoked = await trx
          .updateTable('invites')
          .set({ revoked_at: now })
          .where('id', '=', memberId)
          .where('tenant_id', '=', tenantId)
          .where('accepted_at', 'is', null)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        if (Number(revoked.numUpdatedRows) !== 1) throw notFound('The invite');
        await recordAudit(
          trx,
          { tenantId, actor: by.actor, action: 'member.invite_revoked', target: memberId, ip: by.ip },
          now,
        );
        return;
      }
      const current = await this.memberRole(trx, tenantId, memberId);
      if (current === 'owner' && by.role !== 'owner')
        throw new ApiError('permission_denied', 'Only an owner can remove an owner.');
      if (current === 'owner') await this.assertAnotherOwner(trx, tenantId, memberId);
      await trx
        .deleteFrom('memberships')
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', memberId)
        .execute();
      await trx
        .deleteFrom('sessions')
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', memberId)
        .execute();
      await recordAudit(
        trx,
        {
          tenantId,
          actor: by.actor,
          action: 'member.removed',
          target: memberId,
          ip: by.ip,
          detail: { role: current },
        },
        now,
      );
    });
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
      const existing = await this.memberRole(trx, invite.tenantId, user.id).catch(() => null);
      if (existing === null)
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
    if (password.length < MIN_PASSWORD_LENGTH)
      throw new ApiError(
        'invalid_parameter',
        `The password must be at least ${MIN_PASSWORD_LENGTH} characters long.`,
        'password',
      );
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

  private assertMayAssign(by: MemberActor, role: Role): void {
    if (!assignableBy(by.role).includes(role))
      throw new ApiError('permission_denied', `Your role (${by.role}) cannot give the role ${role}.`, 'role');
  }

  private async memberRole(db: Db, tenantId: string, userId: string): Promise<Role> {
    const row = await db
      .selectFrom('memberships')
      .select('role')
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!row) throw notFound('The member');
    return row.role as Role;
  }

  private async assertAnotherOwner(db: Db, tenantId: string, userId: string): Promise<void> {
    const other = await db
      .selectFrom('memberships')
      .select('user_id')
      .where('tenant_id', '=', tenantId)
      .where('role', '=', 'owner')
      .where('user_id', '!=', userId)
      .limit(1)
      .executeTakeFirst();
    if (!other)
      throw new ApiError(
        'conflict',
        'An organization needs at least one owner: make someone else owner first.',
      );
  }
}

const invalidInvite = () =>
  new ApiError('invalid_token', 'This invitation link is not valid: it was used, withdrawn or has expired.');

/** A member or a pending invite, as the members API shows both. */
function memberView(
  row: { id: string; email: string; role: string; created_at: number | string | bigint },
  status: MemberView['status'],
  expiresAt: number | string | bigint | null,
): MemberView {
  return {
    id: row.id,
    object: 'member',
    email: row.email,
    role: row.role as Role,
    status,
    created: seconds(Number(row.created_at)),
    expires: expiresAt === null ? null : seconds(Number(expiresAt)),
  };
}
