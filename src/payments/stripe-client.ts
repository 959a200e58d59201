import Stripe from 'stripe';
import type { StripeConfig } from '../config/schema.js';

/**
 * The Stripe SDK client of the gateway, or undefined when no secret key is configured. `apiUrl`
 * (SIMO_STRIPE_API_URL) points it at another server speaking the Stripe API (stripe-mock, tests)
 * through the SDK's own host, port and protocol options.
 */
export function createStripeClient(config: StripeConfig): Stripe | undefined {
  if (!config.secretKey) return undefined;
  const options: ConstructorParameters<typeof Stripe>[1] = {
    maxNetworkRetries: 2,
    timeout: 20_000,
    appInfo: { name: 'SIMOSphere' },
    telemetry: false,
  };
  if (config.apiUrl) {
    const url = new URL(config.apiUrl);
    options.host = url.hostname;
    options.protocol = url.protocol === 'http:' ? 'http' : 'https';
    if (url.port) options.port = Number(url.port);
  }
  return new Stripe(config.secretKey, options);
}

/** Verifies a webhook's `Stripe-Signature` over the raw body and parses it; throws when forged or stale. */
export function verifyStripeEvent(rawBody: Buffer, signature: string, secret: string): Stripe.Event {
  return Stripe.webhooks.constructEvent(rawBody, signature, secret);
}
