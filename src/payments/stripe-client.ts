import type Stripe from 'stripe';
import type { StripeConfig } from '../config/schema.js';

/**
 * The Stripe SDK, loaded by the first gateway that is configured for card payments: it is ~3 MB of
 * heap that a gateway without a Stripe key would carry for nothing. Stripe's errors and webhook
 * events only exist once a client does, so whatever needs the SDK finds it loaded.
 */
let sdk: typeof Stripe | undefined;

/**
 * The Stripe SDK client of the gateway, or undefined when no secret key is configured. `apiUrl`
 * (SIMO_STRIPE_API_URL) points it at another server speaking the Stripe API (stripe-mock, tests)
 * through the SDK's own host, port and protocol options.
 */
export async function createStripeClient(config: StripeConfig): Promise<Stripe | undefined> {
  if (!config.secretKey) return undefined;
  sdk ??= (await import('stripe')).default;
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
  return new sdk(config.secretKey, options);
}

function loadedSdk(): typeof Stripe {
  if (!sdk) throw new Error('the Stripe SDK is used before any Stripe client was created');
  return sdk;
}

/** Verifies a webhook's `Stripe-Signature` over the raw body and parses it; throws when forged or stale. */
export function verifyStripeEvent(rawBody: Buffer, signature: string, secret: string): Stripe.Event {
  return loadedSdk().webhooks.constructEvent(rawBody, signature, secret);
}

/** Whether `err` came from the Stripe SDK (a call that failed or was refused). */
export function isStripeError(err: unknown): err is Stripe.errors.StripeError {
  return sdk !== undefined && err instanceof sdk.errors.StripeError;
}

/** Whether `err` is Stripe's answer that the card or the request was refused (not an outage). */
export function isStripeRefusal(
  err: unknown,
): err is Stripe.errors.StripeCardError | Stripe.errors.StripeInvalidRequestError {
  return (
    sdk !== undefined &&
    (err instanceof sdk.errors.StripeCardError || err instanceof sdk.errors.StripeInvalidRequestError)
  );
}
