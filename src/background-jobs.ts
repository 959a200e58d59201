import type { Logger } from 'pino';
import { DAY_MS, pruneUsageRecords } from './billing/usage-daily.js';
import { pruneStripeEvents } from './payments/payment-store.js';
import type { Db } from './shared/db.js';

const HOUR_MS = 3_600_000;
/** Stripe retries an event for three days; its ids are kept well beyond. */
const STRIPE_EVENT_RETENTION_MS = 90 * DAY_MS;

/** What a serving replica runs besides answering requests. */
export interface BackgroundDeps {
  db: Db;
  logger: Logger;
  /** Raw usage records older than this many days are pruned; kept forever when undefined. */
  usageRetentionDays: number | undefined;
  /** Replays usage written ahead by processes that died (here or on another replica). */
  usageRecovery: { startRecovery(): void };
  invoices: { closePreviousMonth(): Promise<unknown> };
  /** Stored Responses API answers, deleted past their retention. */
  responses: { prune(): Promise<number> };
  /** Delivers outbox events to webhook endpoints. */
  webhookDispatcher: { start(): void; stop(): Promise<void> };
  /** The providers' active health checks. */
  healthChecks: { start(): void; stop(): void };
}

export interface BackgroundJobs {
  /** Stops the timers and waits for the work in flight; idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts this replica's background work: the usage recovery sweep, webhook delivery, and the hourly
 * housekeeping (the previous month is invoiced once it is over; raw usage records, stored responses
 * and Stripe event ids past their retention are deleted).
 * Every job is idempotent across replicas. Servers start it; one-shot commands (the CLI) never do,
 * so they never cut a delivery short.
 */
export function startBackgroundJobs(deps: BackgroundDeps): BackgroundJobs {
  deps.usageRecovery.startRecovery();
  deps.webhookDispatcher.start();
  deps.healthChecks.start();
  let housekeeping = Promise.resolve();
  const runHousekeeping = () => {
    housekeeping = closeMonthAndPrune(deps);
  };
  runHousekeeping();
  const timer = setInterval(runHousekeeping, HOUR_MS);
  timer.unref();
  let stopped: Promise<void> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        clearInterval(timer);
        deps.healthChecks.stop();
        await deps.webhookDispatcher.stop();
        await housekeeping;
      })();
      return stopped;
    },
  };
}

async function closeMonthAndPrune(deps: BackgroundDeps): Promise<void> {
  const { logger } = deps;
  await deps.invoices
    .closePreviousMonth()
    .catch((err: unknown) => logger.error({ err }, 'monthly invoice close failed'));
  const retentionDays = deps.usageRetentionDays;
  if (retentionDays !== undefined)
    await pruneUsageRecords(deps.db, Date.now() - retentionDays * DAY_MS).then(
      (pruned) => pruned > 0 && logger.info({ pruned }, 'pruned raw usage records past retention'),
      (err: unknown) => logger.error({ err }, 'usage retention failed'),
    );
  await deps.responses.prune().then(
    (pruned) => pruned > 0 && logger.info({ pruned }, 'deleted stored responses past retention'),
    (err: unknown) => logger.error({ err }, 'response retention failed'),
  );
  await pruneStripeEvents(deps.db, Date.now() - STRIPE_EVENT_RETENTION_MS).catch((err: unknown) =>
    logger.error({ err }, 'Stripe event retention failed'),
  );
}
