import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/load.js';
import type { Mailer } from '../mail/mailer.js';
import type { Db } from '../shared/db.js';
import type { Dialect } from '../storage/database.js';
import { type TopUpOffer, topUpOffer } from './amounts.js';
import { AutoTopUp } from './auto-top-up.js';
import { CheckoutService } from './checkout.js';
import { createStripeClient } from './stripe-client.js';
import { StripeEventHandler } from './stripe-events.js';

/** The payment services that exist when Stripe is configured. */
export interface StripePayments {
  checkout: CheckoutService;
  events: StripeEventHandler;
  autoTopUp: AutoTopUp;
  webhookSecret: string;
}

/** Card payments as the container holds them: `stripe` is undefined when no Stripe key is configured. */
export interface Payments {
  stripe: StripePayments | undefined;
  offer: TopUpOffer;
  /** A tenant's usage settled here (cheap; auto top-up looks at its balance off the request path). */
  spent(tenantId: string): void;
  /** Waits for auto top-up checks and charges in flight. */
  drain(): Promise<void>;
}

export interface PaymentOptions {
  db: Db;
  dialect: Dialect;
  config: ResolvedConfig;
  mailer: Mailer;
  logger: Logger;
  invalidate(tenantId: string): void;
  pendingFor(tenantId: string): bigint;
  now?: () => number;
}

export async function createPayments(opts: PaymentOptions): Promise<Payments> {
  const { config } = opts;
  const offer = topUpOffer(config.stripe);
  const stripe = await createStripeClient(config.stripe);
  const webhookSecret = config.stripe.webhookSecret;
  if (!stripe || !webhookSecret) return { stripe: undefined, offer, spent: () => {}, drain: async () => {} };
  const deps = {
    db: opts.db,
    dialect: opts.dialect,
    stripe,
    config: config.stripe,
    publicUrl: config.publicUrl,
    brandName: config.brand.name,
    invalidate: opts.invalidate,
    mailer: opts.mailer,
    logger: opts.logger,
    now: opts.now ?? Date.now,
  };
  const checkout = new CheckoutService(deps);
  const autoTopUp = new AutoTopUp(deps, checkout, opts.pendingFor);
  const events = new StripeEventHandler(deps, autoTopUp);
  return {
    stripe: { checkout, events, autoTopUp, webhookSecret },
    offer,
    spent: (tenantId) => autoTopUp.spent(tenantId),
    drain: () => autoTopUp.drain(),
  };
}
