import { sql } from 'kysely';
import type { Db } from '../accounts/tenant-store.js';

/** Kinds of ledger movement. Only `usage` rows are debits. */
export type LedgerKind = 'trial' | 'grant' | 'adjustment' | 'usage';

/** A tenant's credit, from the running totals of its ledger. */
export interface CreditTotals {
  grantedMicros: number;
  consumedMicros: number;
  /** JSON-decoded thresholds already announced in the current grant period. */
  thresholdsFired: number[];
}

export const balanceOf = (t: Pick<CreditTotals, 'grantedMicros' | 'consumedMicros'>) =>
  t.grantedMicros - t.consumedMicros;

export interface CreditMovement {
  tenantId: string;
  kind: Exclude<LedgerKind, 'usage'>;
  /** Signed; only adjustments may be negative. */
  amountMicros: number;
  idempotencyKey: string;
  actor: string;
  note?: string | null;
  at?: number;
}

/** Reads a tenant's running totals; a tenant without any movement has none. */
export async function readTotals(db: Db, tenantId: string): Promise<CreditTotals> {
  const row = await db
    .selectFrom('credit_balances')
    .select(['granted_micros', 'consumed_micros', 'thresholds_fired'])
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  if (!row) return { grantedMicros: 0, consumedMicros: 0, thresholdsFired: [] };
  return {
    grantedMicros: Number(row.granted_micros),
    consumedMicros: Number(row.consumed_micros),
    thresholdsFired: JSON.parse(row.thresholds_fired) as number[],
  };
}

/**
 * Appends a credit (trial, grant or adjustment) to the ledger and moves the running total, in the
 * caller's transaction. Returns false when the idempotency key was already used: nothing changes then.
 * A positive grant starts a new grant period, so usage thresholds can be announced again.
 */
export async function appendCredit(trx: Db, m: CreditMovement): Promise<boolean> {
  const at = m.at ?? Date.now();
  const inserted = await trx
    .insertInto('credit_ledger')
    .values({
      tenant_id: m.tenantId,
      kind: m.kind,
      amount_micros: m.amountMicros,
      idempotency_key: m.idempotencyKey,
      request_id: null,
      actor: m.actor,
      note: m.note ?? null,
      created_at: at,
    })
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) return false;
  const newPeriod = m.amountMicros > 0;
  await trx
    .insertInto('credit_balances')
    .values({
      tenant_id: m.tenantId,
      granted_micros: m.amountMicros,
      consumed_micros: 0,
      thresholds_fired: '[]',
      updated_at: at,
    })
    .onConflict((oc) =>
      oc.column('tenant_id').doUpdateSet((eb) => ({
        granted_micros: sql<number>`${eb.ref('credit_balances.granted_micros')} + ${eb.ref('excluded.granted_micros')}`,
        updated_at: eb.ref('excluded.updated_at'),
        ...(newPeriod ? { thresholds_fired: eb.ref('excluded.thresholds_fired') } : {}),
      })),
    )
    .execute();
  return true;
}

/** What a debit did to a tenant's totals, for threshold checks. */
export interface DebitResult {
  grantedMicros: number;
  consumedBefore: number;
  consumedAfter: number;
  thresholdsFired: number[];
}

/** Adds usage to a tenant's consumed total (the ledger rows are written by the caller). */
export async function addConsumed(
  trx: Db,
  tenantId: string,
  amountMicros: number,
  at: number,
): Promise<DebitResult> {
  const row = await trx
    .insertInto('credit_balances')
    .values({
      tenant_id: tenantId,
      granted_micros: 0,
      consumed_micros: amountMicros,
      thresholds_fired: '[]',
      updated_at: at,
    })
    .onConflict((oc) =>
      oc.column('tenant_id').doUpdateSet((eb) => ({
        consumed_micros: sql<number>`${eb.ref('credit_balances.consumed_micros')} + ${eb.ref('excluded.consumed_micros')}`,
        updated_at: eb.ref('excluded.updated_at'),
      })),
    )
    .returning(['granted_micros', 'consumed_micros', 'thresholds_fired'])
    .executeTakeFirstOrThrow();
  const consumedAfter = Number(row.consumed_micros);
  return {
    grantedMicros: Number(row.granted_micros),
    consumedBefore: consumedAfter - amountMicros,
    consumedAfter,
    thresholdsFired: JSON.parse(row.thresholds_fired) as number[],
  };
}

export async function setThresholdsFired(trx: Db, tenantId: string, fired: number[]): Promise<void> {
  await trx
    .updateTable('credit_balances')
    .set({ thresholds_fired: JSON.stringify(fired) })
    .where('tenant_id', '=', tenantId)
    .execute();
}
