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
 * `"4.999875"`, `"5"`, `5.5` or `-1.25` → micro-dollars, exactly (strings are parsed digit by digit, so
 * `"0.1"` is 100_000 and never 99_999). Returns null for anything that is not a USD amount with at most
 * six decimals.
 */
export function parseUsdToMicros(value: string | number): number | null {
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : value.trim();
  const m = /^(-)?(\d{1,12})(?:\.(\d{1,6}))?$/.exec(text);
  if (!m) return null;
  const micros = Number(m[2]) * MICROS_PER_USD + Number((m[3] ?? '').padEnd(6, '0'));
  return m[1] ? -micros : micros;
}

// A price of USD per 1M tokens is micro-dollars per token; scaled by 10^6 it becomes an integer
// ("pico-dollars per token") for any price with up to six decimals, so cost arithmetic is exact.
const PRICE_SCALE = 1_000_000n;

/** A token count as reported by an upstream, made safe to store and bill: a non-negative integer. */
export const safeTokenCount = (n: number): number =>
  Number.isFinite(n) ? Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.trunc(n))) : 0;

const scaledPrice = (usdPerMTok: number): bigint => BigInt(Math.round(usdPerMTok * 1_000_000));

/**
 * Cost of a request in micro-dollars: tokens × price per 1M tokens. Computed exactly in integers and
 * rounded once per request, half up, so many small requests do not drift from their true total by
 * more than half a micro-dollar each.
 */
export function costMicros(
  promptTokens: number,
  completionTokens: number,
  inputPerMTok: number,
  outputPerMTok: number,
): number {
  const exact =
    BigInt(safeTokenCount(promptTokens)) * scaledPrice(inputPerMTok) +
    BigInt(safeTokenCount(completionTokens)) * scaledPrice(outputPerMTok);
  return Number((exact + PRICE_SCALE / 2n) / PRICE_SCALE);
}
