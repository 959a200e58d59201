import { sql } from 'kysely';
import type { Db } from '../shared/db.js';

/** Where available credit stands against the threshold: only a crossing from above charges. */
export type AutoTopUpState = 'armed' | 'charging' | 'waiting';

/** Every change of an auto top-up row counts (see `AutoTopupsTable.version`); qualified, as an upsert needs on PostgreSQL. */
export const nextVersion = sql<number>`auto_topups.version + 1`;

export function readAutoTopUp(db: Db, tenantId: string) {
  return db.selectFrom('auto_topups').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
}

/** A tenant's first auto top-up row: off, no card, armed; callers set what they know. */
export function newSettingsRow(tenantId: string, now: number) {
  return {
    tenant_id: tenantId,
    enabled: 0,
    threshold_micros: 0,
    amount_micros: 0,
    payment_method_id: null as string | null,
    state: 'armed' as const,
    attempt_id: null,
    claimed_at: null,
    last_error: null,
    updated_at: now,
  };
}

export interface Claim {
  tenantId: string;
  /** The row's version when its caller read it, before reading the balance. */
  version: number;
  attemptId: string;
  now: number;
  /** A `charging` claim made before this time was abandoned and may be taken over. */
  staleBefore: number;
}

/**
 * Claims the tenant's next charge for `attemptId`: only one claimant wins, and only if the row is the
 * version it read — a balance read before another replica's top-up was granted is out of date and
 * must not start a second charge.
 */
export async function claimCharge(db: Db, claim: Claim): Promise<boolean> {
  const result = await db
    .updateTable('auto_topups')
    .set({
      state: 'charging',
      attempt_id: claim.attemptId,
      claimed_at: claim.now,
      updated_at: claim.now,
      version: nextVersion,
    })
    .where('tenant_id', '=', claim.tenantId)
    .where('version', '=', claim.version)
    .where('enabled', '=', 1)
    .where('next_attempt_at', '<=', claim.now)
    .where((eb) =>
      eb.or([
        eb('state', '=', 'armed'),
        eb.and([eb('state', '=', 'charging'), eb('claimed_at', '<', claim.staleBefore)]),
      ]),
    )
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** How a claim ends. */
export interface ClaimOutcome {
  state: AutoTopUpState;
  failures: number;
  last_error: string | null;
  next_attempt_at?: number;
  enabled?: number;
}

/** Ends a claim (only the attempt that holds it). */
export async function releaseClaim(
  db: Db,
  tenantId: string,
  attemptId: string,
  outcome: ClaimOutcome,
  now: number,
): Promise<void> {
  await db
    .updateTable('auto_topups')
    .set({ ...outcome, attempt_id: null, claimed_at: null, updated_at: now, version: nextVersion })
    .where('tenant_id', '=', tenantId)
    .where('attempt_id', '=', attemptId)
    .execute();
}
