import { sql } from 'kysely';
import type { Db } from '../shared/db.js';
import { type Money, picosOf } from '../shared/money.js';
import { addMoneyColumns } from './money-sql.js';

/**
 * Kinds of ledger movement. `usage` rows are debits; `refund` and `dispute` take back credit that a
 * `payment` added (negative amounts, like a negative `adjustment`).
 */
export type LedgerKind = 'trial' | 'grant' | 'adjustment' | 'payment' | 'refund' | 'dispute' | 'usage';

/** A tenant's credit, from the running totals of its ledger; amounts in pico-dollars. */
export interface CreditTotals {
  granted: bigint;
  consumed: bigint;
  /** JSON-decoded thresholds already announced in the current grant period. */
  thresholdsFired: number[];
}

/** Granted − consumed, in pico-dollars. */
export const balanceOf = (t: Pick<CreditTotals, 'granted' | 'consumed'>): bigint => t.granted - t.consumed;

export interface CreditMovement {
  tenantId: string;
  kind: Exclude<LedgerKind, 'usage'>;
  /** Signed; adjustments, refunds and disputes are negative. */
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
    .select(['granted_micros', 'consumed_micros', 'consumed_picos', 'thresholds_fired'])
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  if (!row) return { granted: 0n, consumed: 0n, thresholdsFired: [] };
  return {
    granted: picosOf(row.granted_micros),
    consumed: picosOf(row.consumed_micros, row.consumed_picos),
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
      amount_picos: 0,
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
      consumed_picos: 0,
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

/** What a debit did to a tenant's totals (pico-dollars), for threshold checks. */
export interface DebitResult {
  granted: bigint;
  consumedBefore: bigint;
  consumedAfter: bigint;
  thresholdsFired: number[];
}

/** Adds usage (normalised, ≥ 0) to a tenant's consumed total; the ledger rows are written by the caller. */
export async function addConsumed(
  trx: Db,
  tenantId: string,
  amount: Money,
  at: number,
): Promise<DebitResult> {
  const row = await trx
    .insertInto('credit_balances')
    .values({
      tenant_id: tenantId,
      granted_micros: 0,
      consumed_micros: amount.micros,
      consumed_picos: amount.picos,
      thresholds_fired: '[]',
      updated_at: at,
    })
    .onConflict((oc) =>
      oc.column('tenant_id').doUpdateSet((eb) => {
        const sum = addMoneyColumns(
          { stored: eb.ref('credit_balances.consumed_micros'), added: eb.ref('excluded.consumed_micros') },
          { stored: eb.ref('credit_balances.consumed_picos'), added: eb.ref('excluded.consumed_picos') },
        );
        return {
          consumed_micros: sum.micros,
          consumed_picos: sum.picos,
          updated_at: eb.ref('excluded.updated_at'),
        };
      }),
    )
    .returning(['granted_micros', 'consumed_micros', 'consumed_picos', 'thresholds_fired'])
    .executeTakeFirstOrThrow();
  const consumedAfter = picosOf(row.consumed_micros, row.consumed_picos);
  return {
    granted: picosOf(row.granted_micros),
    consumedBefore: consumedAfter - picosOf(amount.micros, amount.picos),
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
