import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type Authenticated, defineRoute, type Guard } from '../../http/define-route.js';
import { callerRole, callerUserId, tenantActor } from '../../http/tenant-auth.js';
import type { OAuthGrants } from '../../oauth/grants.js';
import type { InvitationService } from '../invitations.js';
import type { MemberActor, MemberService } from '../members.js';
import { ROLES } from '../roles.js';

const TAGS = ['Members'];

const memberSchema = z.object({
  id: z.string().describe('`usr_…` for a member, `inv_…` for a pending invite'),
  object: z.literal('member'),
  email: z.string(),
  role: z.enum(ROLES),
  status: z.enum(['active', 'invited']),
  created: z.number().int().describe('Unix seconds: joined, or invited'),
  expires: z.number().int().nullable().describe('Unix seconds when a pending invite expires'),
});

const memberListSchema = z.object({ object: z.literal('list'), data: z.array(memberSchema) });
const inviteRequestSchema = z.object({
  email: z.string().max(320).describe('Where the one-time invitation link is mailed'),
  role: z.enum(ROLES),
});
const roleRequestSchema = z.object({ role: z.enum(ROLES) });
const memberIdParams = z.object({ id: z.string().max(64).describe('`usr_…` or `inv_…`') });
const deletedMemberSchema = z.object({
  id: z.string(),
  object: z.literal('member'),
  deleted: z.literal(true),
});

const actorOf = (request: FastifyRequest): MemberActor => ({
  actor: tenantActor(request),
  role: callerRole(request),
  userId: callerUserId(request),
  ip: request.ip,
});

/** What the member routes use. */
export interface MemberRouteDeps {
  members: MemberService;
  invitations: InvitationService;
  tenant: Guard<Authenticated>;
  /** Apps a removed member authorized are revoked with the membership; a role change reaches them at once. */
  connectedApps: Pick<OAuthGrants, 'revokeMember' | 'memberRoleChanged'>;
}

/** `/admin/members*`: the organization's members and invites (owners and admins). */
export function registerMemberRoutes(
  app: FastifyInstance,
  { members, invitations, tenant, connectedApps }: MemberRouteDeps,
): void {
  defineRoute(app, {
    method: 'GET',
    url: '/admin/members',
    guard: tenant,
    doc: {
      summary: "List the organization's members and pending invites",
      description: 'Members with their role, then invitations not yet accepted (status `invited`).',
      tags: TAGS,
    },
    schema: { response: { 200: memberListSchema } },
    handler: async (request) => ({
      object: 'list' as const,
      data: await members.list(request.auth.tenant.id),
    }),
  });

  defineRoute(app, {
    method: 'POST',
    url: '/admin/members/invite',
    guard: tenant,
    doc: {
      summary: 'Invite someone by email with a role',
      description:
        'Mails a one-time link, valid 7 days; they accept by signing up or signing in. Only owners invite owners. A new invite replaces a pending one for the same address.',
      tags: TAGS,
    },
    schema: { body: inviteRequestSchema, response: { 201: memberSchema } },
    handler: async (request, reply) => {
      const invite = await invitations.invite(request.auth.tenant.id, request.body, actorOf(request));
      return reply.code(201).send(invite);
    },
  });

  defineRoute(app, {
    method: 'PATCH',
    url: '/admin/members/:id',
    guard: tenant,
    doc: {
      summary: "Change a member's role",
      description:
        'Only owners give or take the owner role; an organization keeps at least one owner. The keys the member created and the apps they authorized (OAuth) act with the new role from the next request on.',
      tags: TAGS,
    },
    schema: { params: memberIdParams, body: roleRequestSchema, response: { 200: memberSchema } },
    handler: async (request) => {
      const tenantId = request.auth.tenant.id;
      const member = await members.changeRole(
        tenantId,
        request.params.id,
        request.body.role,
        actorOf(request),
      );
      await connectedApps.memberRoleChanged(tenantId, request.params.id);
      return member;
    },
  });

  defineRoute(app, {
    method: 'DELETE',
    url: '/admin/members/:id',
    guard: tenant,
    doc: {
      summary: 'Remove a member, or withdraw a pending invite',
      description:
        "The member's sessions in the organization and the apps they authorized (OAuth) end at once; the keys they created stay with the organization, their creator recorded; those of a removed owner or admin act as developer from the next request on.",
      tags: TAGS,
    },
    schema: { params: memberIdParams, response: { 200: deletedMemberSchema } },
    handler: async (request) => {
      await members.remove(request.auth.tenant.id, request.params.id, actorOf(request));
      // The apps the member authorized acted with the member's rights: they end with the membership.
      if (!request.params.id.startsWith('inv_'))
        await connectedApps.revokeMember(request.auth.tenant.id, request.params.id, tenantActor(request));
      return { id: request.params.id, object: 'member' as const, deleted: true as const };
    },
  });
}
