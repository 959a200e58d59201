import type Stripe from 'stripe';
import { balanceOf, readTotals } from '../billing/credit-store.js';
import { enqueueEvent } from '../events/outbox.js';
import type { Db } from '../shared/db.js';
import { ApiError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { formatMicros, picosOf } from '../shared/money.js';
import { chargeFor, parseTopUpAmount } from './amounts.js';
import {
  type ClaimOutcome,
  claimCharge,
  newSettingsRow,
  nextVersion,
  readAutoTopUp,
  releaseClaim,
} from './auto-top-up-store.js';
import type { CheckoutService } from './checkout.js';
import type { PaymentDeps } from './payment-deps.js';
import { findPayment, grantPayment, insertPayment, type Payment } from './payment-store.js';
import { isStripeRefusal } from './stripe-client.js';

/** Auto top-up as `GET /admin/billing/auto-topup` shows it. */
export interface AutoTopUpView {
  object: 'auto_topup';
  enabled: boolean;
  /** USD: when available credit falls below it… */
  threshold: string;
  /** …this much credit is bought with the saved card. */
  amount: string;
  card_saved: boolean;
  /** Failed charges in a row; at `max_failures` auto top-up switches itself off. */
  failures: number;
  max_failures: number;
  last_error: string | null;
}

export interface AutoTopUpSettings {
  enabled: boolean;
  threshold: unknown;
  amount: unknown;
}

/** How long a tenant found without auto top-up is not looked up again (enabling elsewhere shows within it). */
const OFF_CACHE_MS = 5_000;

/** Who should hear that a charge failed: the tenant's owners and billing members. */
async function payersOf(db: Db, tenantId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select('users.email')
    .where('memberships.tenant_id', '=', tenantId)
    .where('memberships.role', 'in', ['owner', 'billing'])
    .execute();
  if (rows.length > 0) return rows.map((r) => r.email);
  const tenant = await db.selectFrom('tenants').select('email').where('id', '=', tenantId).executeTakeFirst();
  return tenant ? [tenant.email] : [];
}

/**
 * "When available credit falls below X, add Y": an off-session PaymentIntent on the saved card, once
 * per crossing. Any replica that settles usage may notice the crossing; the charge is claimed in the
 * database (a conditional update of the tenant's row), so across replicas exactly one charges, and
 * its PaymentIntent carries an idempotency key, so a replica taking over a stale claim repeats the
 * same charge instead of making a second one. After `maxFailures` failures in a row it stops.
 */
export class AutoTopUp {
  /** Tenants with a check running, and whether another was asked for meanwhile. */
  private readonly checking = new Map<string, boolean>();
  private readonly running = new Set<Promise<void>>();
  /** Tenants seen without auto top-up, until when: most never set it up, and usage is frequent. */
  private readonly off = new Map<string, number>();

  constructor(
    private readonly deps: PaymentDeps,
    private readonly checkout: CheckoutService,
    /** Usage this process settled but has not committed yet, pico-dollars. */
    private readonly pendingFor: (tenantId: string) => bigint,
  ) {}

  async view(tenantId: string): Promise<AutoTopUpView> {
    const row = await this.row(this.deps.db, tenantId);
    return {
      object: 'auto_topup',
      enabled: row ? row.enabled === 1 : false,
      threshold: formatMicros(row ? Number(row.threshold_micros) : 0),
      amount: formatMicros(row ? Number(row.amount_micros) : 0),
      card_saved: Boolean(row?.payment_method_id),
      failures: row ? Number(row.failures) : 0,
      max_failures: this.deps.config.autoTopUp.maxFailures,
      last_error: row?.last_error ?? null,
    };
  }

  /** Sets threshold and amount; enabling needs a saved card and resets the failure count. */
  async configure(tenantId: string, s: AutoTopUpSettings): Promise<AutoTopUpView> {
    const amount = parseTopUpAmount(s.amount, this.deps.config);
    const threshold = parseTopUpAmount(s.threshold, { ...this.deps.config, minimum: 0.01 }, 'threshold');
    const { db } = this.deps;
    const now = this.deps.now();
    const current = await this.row(db, tenantId);
    if (s.enabled && !current?.payment_method_id)
      throw new ApiError(
        'invalid_request',
        'Save a card first (POST /admin/billing/auto-topup/card), then enable auto top-up.',
        'enabled',
      );
    await db
      .insertInto('auto_topups')
      .values({
        ...newSettingsRow(tenantId, now),
        enabled: s.enabled ? 1 : 0,
        threshold_micros: threshold,
        amount_micros: amount,
      })
      .onConflict((oc) =>
        oc.column('tenant_id').doUpdateSet({
          enabled: s.enabled ? 1 : 0,
          threshold_micros: threshold,
          amount_micros: amount,
          ...(s.enabled ? { failures: 0, next_attempt_at: 0, last_error: null } : {}),
          updated_at: now,
          version: nextVersion,
        }),
      )
      .execute();
    this.off.delete(tenantId);
    this.spent(tenantId);
    return this.view(tenantId);
  }

  /** Stores the card saved through Checkout in setup mode. */
  async cardSaved(trx: Db, tenantId: string, paymentMethodId: string): Promise<void> {
    const now = this.deps.now();
    await trx
      .insertInto('auto_topups')
      .values({ ...newSettingsRow(tenantId, now), payment_method_id: paymentMethodId })
      .onConflict((oc) =>
        oc.column('tenant_id').doUpdateSet({
          payment_method_id: paymentMethodId,
          failures: 0,
          next_attempt_at: 0,
          updated_at: now,
          version: nextVersion,
        }),
      )
      .execute();
  }

  /**
   * The tenant spent credit (a request settled here): checks the threshold soon, off the request path.
   * Checks of one tenant never overlap in a process; one asked for meanwhile runs once afterwards.
   */
  spent(tenantId: string): void {
    const offUntil = this.off.get(tenantId);
    if (offUntil !== undefined) {
      if (offUntil > this.deps.now()) return;
      this.off.delete(tenantId);
    }
    if (this.checking.has(tenantId)) {
      this.checking.set(tenantId, true);
      return;
    }
    this.checking.set(tenantId, false);
    const run = (async () => {
      try {
        do {
          this.checking.set(tenantId, false);
          await this.check(tenantId);
        } while (this.checking.get(tenantId));
      } catch (err) {
        this.deps.logger.error({ err, tenantId }, 'auto top-up check failed');
      } finally {
        this.checking.delete(tenantId);
      }
    })();
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  /** Waits for the checks and charges in flight (shutdown, tests). */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  private async check(tenantId: string): Promise<void> {
    const { db, config } = this.deps;
    const row = await this.row(db, tenantId);
    if (row?.enabled !== 1 || !row.payment_method_id) {
      this.off.set(tenantId, this.deps.now() + OFF_CACHE_MS);
      return;
    }
    const totals = await readTotals(db, tenantId);
    const available = balanceOf(totals) - this.pendingFor(tenantId);
    const threshold = picosOf(row.threshold_micros);
    const now = this.deps.now();
    if (available >= threshold) {
      if (row.state === 'waiting')
        await db
          .updateTable('auto_topups')
          .set({ state: 'armed', updated_at: now, version: nextVersion })
          .where('tenant_id', '=', tenantId)
          .where('state', '=', 'waiting')
          .execute();
      return;
    }
    const stale = now - config.autoTopUp.claimTimeoutMs;
    // One replica wins the claim; a claim abandoned by a replica that died is taken over with the
    // same attempt (and so the same idempotency key at Stripe). The claim holds only on the version
    // read before the balance: if another replica charged and granted meanwhile, the balance read
    // here is out of date and must not start a second charge.
    const attemptId = row.state === 'charging' && row.attempt_id ? row.attempt_id : newId('pay');
    const claimed = await claimCharge(db, {
      tenantId,
      version: row.version,
      attemptId,
      now,
      staleBefore: stale,
    });
    if (!claimed) return;
    const creditsMicros = Number(row.amount_micros);
    await insertPayment(db, {
      id: attemptId,
      tenantId,
      kind: 'auto',
      creditsMicros,
      amountMinor: chargeFor(creditsMicros, config),
      currency: config.currency,
      createdBy: 'system',
      at: now,
    });
    await this.charge(tenantId, attemptId, row.payment_method_id);
  }

  private async charge(tenantId: string, paymentId: string, paymentMethod: string): Promise<void> {
    const payment = await findPayment(this.deps.db, paymentId);
    if (!payment) return;
    let intent: Stripe.PaymentIntent;
    try {
      const customer = await this.checkout.customerFor(tenantId);
      const metadata = { simo_payment_id: paymentId, simo_tenant_id: tenantId };
      intent = await this.deps.stripe.paymentIntents.create(
        {
          amount: payment.amountMinor,
          currency: payment.currency,
          customer,
          payment_method: paymentMethod,
          off_session: true,
          confirm: true,
          description: `${this.deps.brandName} auto top-up: ${formatMicros(payment.creditsMicros)} USD of credit`,
          metadata,
        },
        { idempotencyKey: `auto:${paymentId}` },
      );
    } catch (err) {
      // A declined card is an answer; anything else (network, Stripe down) leaves the claim to
      // expire and be retried with the same idempotency key.
      if (isStripeRefusal(err)) return this.failed(payment, err.message);
      throw err;
    }
    if (intent.status === 'succeeded') return this.succeeded(payment, intent);
    if (intent.status === 'processing') return; // payment_intent.succeeded / payment_failed will tell.
    return this.failed(payment, `The payment needs the customer (${intent.status}).`);
  }

  /** Grants a successful auto top-up (from the charge's answer or its webhook; at most once). */
  async succeeded(payment: Payment, intent: Stripe.PaymentIntent): Promise<void> {
    const { db } = this.deps;
    const now = this.deps.now();
    await db.transaction().execute(async (trx) => {
      const current = await findPayment(trx, payment.id, this.deps.dialect);
      if (!current) return;
      await grantPayment(
        trx,
        current,
        { paymentIntentId: intent.id, amountTotalMinor: intent.amount_received },
        now,
      );
      await this.release(trx, payment.tenantId, payment.id, {
        state: 'waiting',
        failures: 0,
        last_error: null,
      });
    });
    this.deps.invalidate(payment.tenantId);
    this.spent(payment.tenantId);
  }

  /**
   * Records a failed charge once (a pending payment only): `payment.failed` to webhooks, a mail to
   * the owners and billing members, the next try after `retryAfterMs`, and off after `maxFailures`.
   */
  async failed(payment: Payment, reason: string): Promise<void> {
    const { db, config } = this.deps;
    const now = this.deps.now();
    const outcome = await db.transaction().execute(async (trx) => {
      const current = await findPayment(trx, payment.id, this.deps.dialect);
      if (current?.status !== 'pending') return null;
      await trx
        .updateTable('payments')
        .set({ status: 'failed', failure: reason })
        .where('id', '=', payment.id)
        .execute();
      const row = await this.row(trx, payment.tenantId);
      const failures = Number(row?.failures ?? 0) + 1;
      const stopped = failures >= config.autoTopUp.maxFailures;
      await this.release(trx, payment.tenantId, payment.id, {
        state: 'armed',
        failures,
        last_error: reason,
        next_attempt_at: now + config.autoTopUp.retryAfterMs,
        ...(stopped ? { enabled: 0 } : {}),
      });
      await enqueueEvent(
        trx,
        payment.tenantId,
        'payment.failed',
        {
          payment_id: payment.id,
          kind: 'auto_topup',
          amount: formatMicros(payment.creditsMicros),
          reason,
          failures,
          stopped,
        },
        now,
      );
      return { failures, stopped };
    });
    if (!outcome) return;
    const amount = formatMicros(payment.creditsMicros);
    const text = [
      `An automatic top-up of ${amount} USD of ${this.deps.brandName} credit could not be charged to your saved card.`,
      '',
      `Reason: ${reason}`,
      '',
      outcome.stopped
        ? `It failed ${outcome.failures} times in a row, so auto top-up is now switched off. Update your card and switch it on again:`
        : 'It will be tried again later. To avoid an interruption, check your card or top up by hand:',
      `${this.deps.publicUrl}/dashboard/billing`,
    ].join('\n');
    for (const to of await payersOf(db, payment.tenantId))
      await this.deps.mailer
        .send({ to, subject: `${this.deps.brandName}: automatic top-up failed`, text })
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'payment failure mail not sent'));
  }

  private release(trx: Db, tenantId: string, attemptId: string, set: ClaimOutcome): Promise<void> {
    return releaseClaim(trx, tenantId, attemptId, set, this.deps.now());
  }

  private row(db: Db, tenantId: string) {
    return readAutoTopUp(db, tenantId);
  }
}
