import type { Logger } from 'pino';
import { recordAudit } from '../accounts/audit-log.js';
import type { Config } from '../config/schema.js';
import { randomBase62 } from '../shared/ids.js';
import type { DatabaseHandle } from '../storage/database.js';
import { nextAttemptAt } from './backoff.js';
import {
  cancelDelivery,
  cancelPendingDeliveries,
  type DeliveryRow,
  eventPayload,
  fanOutEvents,
  leaseDueDeliveries,
  releaseLease,
  settleAttempt,
} from './delivery-store.js';
import type { SecretBox } from './secret-box.js';
import { WebhookSender } from './sender.js';
import { signatureHeaders } from './signing.js';
import { findWebhookById, recordEndpointFailure, recordEndpointSuccess } from './webhook-store.js';

/** How long stopping waits for attempts in flight before cutting them off. */
const SHUTDOWN_GRACE_MS = 2_000;

/**
 * The background loop that turns outbox events into deliveries and delivers them. Every replica runs
 * one; they coordinate only through the database (idempotent fan-out, leased deliveries), so each
 * attempt is made by exactly one replica and nothing is lost across restarts.
 */
export class WebhookDispatcher {
  /** Identifies this replica in leases and the attempt log. */
  readonly replica = `rep_${randomBase62(10)}`;
  private readonly sender: WebhookSender;
  private readonly shutdown = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private ticking: Promise<void> | undefined;
  private kicked = false;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly database: Pick<DatabaseHandle, 'db' | 'dialect'>,
    private readonly secrets: SecretBox,
    private readonly config: Config['webhooks'],
    private readonly logger: Logger,
    /** Sees the outcome of every recorded attempt (metrics). */
    private readonly onAttempt: (outcome: 'success' | 'failure' | 'gave_up') => void = () => {},
  ) {
    this.sender = new WebhookSender({ timeoutMs: config.timeoutMs, allowPrivate: config.allowPrivate });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Runs the next tick now (after a local change made deliveries due). */
  kick(): void {
    if (!this.running) return;
    if (this.ticking) {
      this.kicked = true;
      return;
    }
    this.schedule(0);
  }

  /**
   * Stops leasing, interrupts attempts in flight (they are logged and retried) and waits for them;
   * idempotent (the server stops its background jobs, then the container releases everything).
   */
  stop(): Promise<void> {
    this.stopping ??= this.halt();
    return this.stopping;
  }

  private async halt(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    // Attempts in flight get a short grace to finish; a cut-off attempt is retried, i.e. may repeat.
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((resolve) => {
        grace = setTimeout(resolve, Math.min(SHUTDOWN_GRACE_MS, this.config.timeoutMs));
      }),
    ]);
    clearTimeout(grace);
    this.shutdown.abort();
    await Promise.allSettled([...this.inFlight]);
    await this.sender.close();
  }

  private schedule(delay: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => {
        this.ticking = undefined;
        if (!this.running) return;
        const again = this.kicked;
        this.kicked = false;
        this.schedule(again ? 0 : this.config.pollIntervalMs);
      });
    }, delay);
    this.timer.unref?.();
  }

  /** One pass: fan out new events, then lease as many due deliveries as there are free slots. */
  async tick(): Promise<void> {
    try {
      const now = Date.now();
      while ((await fanOutEvents(this.database.db, now)) === 200 && this.running) {}
      const free = this.config.concurrency - this.inFlight.size;
      if (free <= 0 || !this.running) return;
      const leased = await leaseDueDeliveries(this.database, this.replica, now, this.config.leaseMs, free);
      for (const delivery of leased) {
        const p: Promise<void> = this.attempt(delivery)
          .catch((err) =>
            this.logger.error({ err, delivery: delivery.id }, 'webhook attempt failed to settle'),
          )
          .finally(() => {
            this.inFlight.delete(p);
            this.kick();
          });
        this.inFlight.add(p);
      }
    } catch (err) {
      if (this.running) this.logger.warn({ err }, 'webhook dispatcher pass failed');
    }
  }

  private async attempt(delivery: DeliveryRow): Promise<void> {
    const { db } = this.database;
    const webhook = await findWebhookById(db, delivery.webhook_id);
    const body = await eventPayload(db, delivery.event_id);
    if (!webhook || webhook.deletedAt !== null)
      return cancelPendingDeliveries(db, delivery.webhook_id, 'endpoint deleted', Date.now());
    if (body === null) return cancelDelivery(db, delivery.id, 'event no longer exists', Date.now());
    if (this.shutdown.signal.aborted) return releaseLease(db, delivery, this.replica, Date.now());
    let secret: string;
    try {
      secret = this.secrets.open(webhook.secretCiphertext);
    } catch (err) {
      this.logger.error(
        { err, webhook: webhook.id },
        'cannot decrypt webhook secret; is SIMO_SECRET_KEY the same on every replica?',
      );
      // Not the endpoint's fault: try again later without counting an attempt.
      const now = Date.now();
      return releaseLease(
        db,
        delivery,
        this.replica,
        now,
        now + Math.min(60_000, this.config.retryMaxDelayMs),
      );
    }
    const headers = {
      'x-simo-event': delivery.event_type,
      ...signatureHeaders(secret, delivery.event_id, body, Math.floor(Date.now() / 1000)),
    };
    const outcome = await this.sender.send(webhook.url, headers, body, this.shutdown.signal);
    const now = Date.now();
    const next = outcome.succeeded
      ? null
      : this.shutdown.signal.aborted
        ? now
        : nextAttemptAt(this.config, Number(delivery.round_started_at), delivery.round_attempts, now);
    const settled = await settleAttempt(db, delivery, this.replica, outcome, next, now);
    if (!settled) return;
    this.onAttempt(outcome.succeeded ? 'success' : next === null ? 'gave_up' : 'failure');
    if (outcome.succeeded) return recordEndpointSuccess(db, webhook.id, now);
    // Our own shutdown cut the attempt short: not the endpoint's failure.
    if (this.shutdown.signal.aborted) return;
    const disabled = await recordEndpointFailure(
      db,
      webhook.id,
      now,
      {
        maxFailures: this.config.disableAfterFailures,
        minFailingMs: this.config.disableAfterMs,
        gaveUp: next === null,
      },
      async (trx) => {
        await cancelPendingDeliveries(trx, webhook.id, 'endpoint disabled after sustained failure', now);
        await recordAudit(trx, {
          tenantId: webhook.tenantId,
          actor: 'system',
          action: 'webhook.disabled',
          target: webhook.id,
          detail: {
            reason: 'sustained delivery failure',
            consecutive_failures: this.config.disableAfterFailures,
          },
        });
      },
    );
    if (disabled) {
      this.logger.warn(
        { webhook: webhook.id, tenant: webhook.tenantId },
        'webhook endpoint disabled after sustained failure',
      );
    }
  }
}
