/** Money is integer micro-dollars everywhere; these are the only conversions. */
export const MICROS_PER_USD = 1_000_000;

/** `5` → 5_000_000. Rounds to the nearest micro-dollar. */
export const usdToMicros = (usd: number): number => Math.round(usd * MICROS_PER_USD);

/** 4_999_875 → `"4.999875"`; exact, no floating point involved. */
export function formatMicros(micros: number): string {
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(Math.trunc(micros));
  const whole = Math.floor(abs / MICROS_PER_USD);
  const frac = String(abs % MICROS_PER_USD).padStart(6, '0');
  return `${sign}${whole}.${frac}`;
}

/**
 * Cost of a request in micro-dollars: tokens × price per 1M tokens. Prices are USD per 1M tokens,
 * so micro-dollars per token equals the price itself; rounding happens once, at the end.
 */
export function costMicros(
  promptTokens: number,
  completionTokens: number,
  inputPerMTok: number,
  outputPerMTok: number,
): number {
  return Math.round(promptTokens * inputPerMTok + completionTokens * outputPerMTok);
}
