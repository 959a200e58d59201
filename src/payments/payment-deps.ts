import type { Logger } from 'pino';
import type Stripe from 'stripe';
import type { StripeConfig } from '../config/schema.js';
import type { Mailer } from '../mail/mailer.js';
import type { Db } from '../shared/db.js';
import type { Dialect } from '../storage/database.js';

/** What the payment services share: the database, the Stripe client and where links point. */
export interface PaymentDeps {
  db: Db;
  dialect: Dialect;
  stripe: Stripe;
  config: StripeConfig;
  publicUrl: string;
  brandName: string;
  /** Forgets a tenant's cached balance after its credit changed, so admission reads it again. */
  invalidate(tenantId: string): void;
  mailer: Mailer;
  logger: Logger;
  now(): number;
}
