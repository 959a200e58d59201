import type { Db } from '../shared/db.js';
import { ApiError, notFound } from '../shared/errors.js';
import type { Dialect } from '../storage/database.js';
import { recordAudit } from './audit-log.js';
import type { InvitationService } from './invitations.js';
import type { RevocationBus } from './revocation-bus.js';
import { assignableBy, type Role } from './roles.js';

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

const seconds = (ms: number) => Math.floor(ms / 1000);

/**
 * Members of organizations: listing, role changes and removal (invitations live in `InvitationService`).
 * Every change is audited. An organization always keeps at least one owner.
 */
export class MemberService {
  constructor(
    private readonly db: Db,
    private readonly invitations: InvitationService,
    private readonly revocations: RevocationBus,
    private readonly opts: { dialect: Dialect; now?: () => number },
  ) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** Members with their role, then pending invites. */
  async list(tenantId: string): Promise<MemberView[]> {
    const members = await this.db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select(['users.id', 'users.email', 'memberships.role', 'memberships.created_at'])
      .where('memberships.tenant_id', '=', tenantId)
      .orderBy('memberships.created_at')
      .execute();
    return [
      ...members.map((m) => memberView(m, 'active', null)),
      ...(await this.invitations.listPending(tenantId)),
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
    return roleIn(this.db, tenantId, userId);
  }

  /**
   * Changes a member's role. Owners change anyone; admins neither make nor change owners. The keys the
   * member created act with the new role from the next request on, on every replica: a demoted admin's
   * old key cannot give its creator the role back.
   */
  async changeRole(tenantId: string, memberId: string, role: Role, by: MemberActor): Promise<MemberView> {
    assertMayAssign(by, role);
    const now = this.now();
    const keyIds = await this.db.transaction().execute(async (trx) => {
      const current = await this.roleToChange(trx, tenantId, memberId, by, 'change the role of an owner');
      if (current === role) return [];
      if (current === 'owner') await this.assertAnotherOwner(trx, tenantId, memberId);
      await trx
        .updateTable('memberships')
        .set({ role })
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', memberId)
        .execute();
      const keyIds = await setKeyRoles(trx, tenantId, memberId, role);
      await auditMemberChange(
        trx,
        tenantId,
        by,
        'member.role_changed',
        memberId,
        { from: current, to: role },
        now,
      );
      return keyIds;
    });
    await this.forgetKeys(keyIds);
    const view = (await this.list(tenantId)).find((m) => m.id === memberId);
    if (!view) throw notFound('The member');
    return view;
  }

  /**
   * Removes a member (their sessions in the organization end at once; the keys they created stay,
   * with their creator recorded), or withdraws a pending invite (`inv_…`).
   */
  /**
   * Removes a member (or withdraws an invitation). The keys they created stay with the organization,
   * but those that managed it (owner or admin) act as developer from then on, on every replica: a
   * removed admin's key must not invite its creator back.
   */
  async remove(tenantId: string, memberId: string, by: MemberActor): Promise<void> {
    const now = this.now();
    const keyIds = await this.db.transaction().execute(async (trx) => {
      if (memberId.startsWith('inv_')) {
        await this.invitations.revoke(trx, tenantId, memberId, by, now);
        return [];
      }
      const current = await this.roleToChange(trx, tenantId, memberId, by, 'remove an owner');
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
      await auditMemberChange(trx, tenantId, by, 'member.removed', memberId, { role: current }, now);
      return setKeyRoles(trx, tenantId, memberId, 'developer', ['owner', 'admin']);
    });
    await this.forgetKeys(keyIds);
  }

  /** Every replica drops these keys from its cache, so their new role applies from the next request. */
  private async forgetKeys(keyIds: readonly string[]): Promise<void> {
    for (const keyId of keyIds) await this.revocations.publish({ kind: 'key', keyId });
  }

  /** The current role of the member about to be changed; only an owner may change an owner. */
  private async roleToChange(
    trx: Db,
    tenantId: string,
    memberId: string,
    by: MemberActor,
    ownerOnlyAction: string,
  ): Promise<Role> {
    const current = await roleIn(trx, tenantId, memberId);
    if (current === null) throw notFound('The member');
    if (current === 'owner' && by.role !== 'owner')
      throw new ApiError('permission_denied', `Only an owner can ${ownerOnlyAction}.`);
    return current;
  }

  /**
   * On PostgreSQL every owner row is locked, in one order, until the change commits: two owners
   * demoting or removing each other at once would otherwise both see the other one still there.
   * (SQLite runs one write transaction at a time.)
   */
  private async assertAnotherOwner(db: Db, tenantId: string, userId: string): Promise<void> {
    const owners = await db
      .selectFrom('memberships')
      .select('user_id')
      .where('tenant_id', '=', tenantId)
      .where('role', '=', 'owner')
      .orderBy('user_id')
      .$if(this.opts.dialect === 'postgres', (qb) => qb.forUpdate())
      .execute();
    if (!owners.some((o) => o.user_id !== userId))
      throw new ApiError(
        'conflict',
        'An organization needs at least one owner: make someone else owner first.',
      );
  }
}

/**
 * Gives the active keys a member created the role `role` (only those now in `from`, when given);
 * returns their ids.
 */
async function setKeyRoles(
  trx: Db,
  tenantId: string,
  memberId: string,
  role: Role,
  from?: readonly Role[],
): Promise<string[]> {
  const keys = await trx
    .updateTable('api_keys')
    .set({ role })
    .where('tenant_id', '=', tenantId)
    .where('created_by', '=', memberId)
    .where('revoked_at', 'is', null)
    .$if(from !== undefined, (qb) => qb.where('role', 'in', from ?? []))
    .returning('id')
    .execute();
  return keys.map((k) => k.id);
}

/** A user's role in an organization, or null when not a member. */
export async function roleIn(db: Db, tenantId: string, userId: string): Promise<Role | null> {
  const row = await db
    .selectFrom('memberships')
    .select('role')
    .where('tenant_id', '=', tenantId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row ? (row.role as Role) : null;
}

/** Refuses giving a role the actor's own role may not give. */
export function assertMayAssign(by: MemberActor, role: Role): void {
  if (!assignableBy(by.role).includes(role))
    throw new ApiError('permission_denied', `Your role (${by.role}) cannot give the role ${role}.`, 'role');
}

/** Audits a change to an organization's membership made by `by`. */
export async function auditMemberChange(
  trx: Db,
  tenantId: string,
  by: MemberActor,
  action: string,
  target: string,
  detail: Record<string, unknown> | undefined,
  at: number,
): Promise<void> {
  await recordAudit(
    trx,
    { tenantId, actor: by.actor, action, target, ip: by.ip, ...(detail ? { detail } : {}) },
    at,
  );
}

/** A member or a pending invite, as the members API shows both. */
export function memberView(
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
