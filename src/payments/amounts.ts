import type { StripeConfig } from '../config/schema.js';
import { ApiError } from '../shared/errors.js';
import { formatMicros, parseUsdToMicros, usdToMicros } from '../shared/money.js';

const MICROS_PER_CENT = 10_000;

/** The top-up amounts on offer, as the credits page shows them. */
export interface TopUpOffer {
  currency: string;
  /** USD of credit, decimal strings. */
  presets: string[];
  minimum: string;
  maximum: string;
}

export function topUpOffer(config: StripeConfig): TopUpOffer {
  return {
    currency: config.currency,
    presets: config.presets.map((p) => formatMicros(usdToMicros(p))),
    minimum: formatMicros(usdToMicros(config.minimum)),
    maximum: formatMicros(usdToMicros(config.maximum)),
  };
}

/**
 * A top-up amount sent by a client → micro-dollars of credit: whole cents, within the configured
 * minimum and maximum. Anything else is a 400 naming `param`, never a charge.
 */
export function parseTopUpAmount(value: unknown, config: StripeConfig, param = 'amount'): number {
  const micros = typeof value === 'string' || typeof value === 'number' ? parseUsdToMicros(value) : null;
  if (micros === null || micros <= 0 || micros % MICROS_PER_CENT !== 0)
    throw new ApiError(
      'invalid_parameter',
      `'${param}' must be a positive USD amount in whole cents, e.g. "20" or "20.50".`,
      param,
    );
  const min = usdToMicros(config.minimum);
  const max = usdToMicros(config.maximum);
  if (micros < min || micros > max)
    throw new ApiError(
      'invalid_parameter',
      `'${param}' must be between ${formatMicros(min)} and ${formatMicros(max)} USD.`,
      param,
    );
  return micros;
}

/** What `credits` micro-dollars of credit cost, in the smallest unit of the configured currency (rounded up). */
export function chargeFor(creditsMicros: number, config: StripeConfig): number {
  const scaled = BigInt(creditsMicros) * BigInt(config.minorUnitsPerUsd);
  return Number((scaled + 999_999n) / 1_000_000n);
}

/**
 * The credit a part of a payment stands for: `credits × part / whole`, rounded down, never more than
 * `credits` (a refund of the whole charge takes back exactly what it granted).
 */
export function creditsOfPart(creditsMicros: number, part: number, whole: number): number {
  if (whole <= 0 || part <= 0) return 0;
  if (part >= whole) return creditsMicros;
  return Number((BigInt(creditsMicros) * BigInt(part)) / BigInt(whole));
}
