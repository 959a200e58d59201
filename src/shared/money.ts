/**
 * Money. Prices are USD per million tokens, i.e. micro-dollars per token; scaled by 10^6 they are whole
 * pico-dollars (10^-12 USD) per token for any price with up to six decimals, so a request's cost is an
 * exact integer of pico-dollars, however cheap the model. What is stored is that exact amount, split in
 * two integers that stay within JavaScript's safe range at any realistic size:
 * whole micro-dollars (`*_micros`) and the pico-dollars below one micro-dollar (`*_picos`).
 * Sums add both parts; only what is shown to people is rounded, once, to the micro-dollar.
 */
export const MICROS_PER_USD = 1_000_000;
/** Pico-dollars in a micro-dollar. */
export const PICOS_PER_MICRO = 1_000_000;
const PICOS_PER_MICRO_N = 1_000_000n;

/** An exact amount: `micros + picos / 10^6` micro-dollars, both parts with the same sign. */
export interface Money {
  micros: number;
  picos: number;
}

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

/** A token count as reported by an upstream, made safe to store and bill: a non-negative integer. */
export const safeTokenCount = (n: number): number =>
  Number.isFinite(n) ? Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.trunc(n))) : 0;

/** USD per 1M tokens → pico-dollars per token (exact for prices with up to six decimals). */
export const picosPerToken = (usdPerMTok: number): bigint => BigInt(Math.round(usdPerMTok * 1_000_000));

/** Exact cost in pico-dollars of a request's tokens. */
export function costPicos(
  promptTokens: number,
  completionTokens: number,
  inputPerMTok: number,
  outputPerMTok: number,
): bigint {
  return (
    BigInt(safeTokenCount(promptTokens)) * picosPerToken(inputPerMTok) +
    BigInt(safeTokenCount(completionTokens)) * picosPerToken(outputPerMTok)
  );
}

/** Prices per million tokens of a model, cache prices optional. */
export interface TokenPricing {
  inputPerMTok: number;
  outputPerMTok: number;
  cachedInputPerMTok?: number | undefined;
  cacheWritePerMTok?: number | undefined;
}

/**
 * The cost of a request, in pico-dollars: uncached prompt tokens at the input price, cached reads and
 * cache writes at their own prices (the input price when the model sets none), completion tokens at
 * the output price. `prompt` includes the cached and written tokens.
 */
export function usageCostPicos(
  u: { prompt: number; completion: number; cached?: number; cacheWrite?: number },
  p: TokenPricing,
): bigint {
  const prompt = safeTokenCount(u.prompt);
  const cached = Math.min(safeTokenCount(u.cached ?? 0), prompt);
  const written = Math.min(safeTokenCount(u.cacheWrite ?? 0), prompt - cached);
  return (
    BigInt(prompt - cached - written) * picosPerToken(p.inputPerMTok) +
    BigInt(cached) * picosPerToken(p.cachedInputPerMTok ?? p.inputPerMTok) +
    BigInt(written) * picosPerToken(p.cacheWritePerMTok ?? p.inputPerMTok) +
    BigInt(safeTokenCount(u.completion)) * picosPerToken(p.outputPerMTok)
  );
}

/** The highest price a prompt token can cost (what a worst case reserves per prompt token). */
export const maxInputPerMTok = (p: TokenPricing) =>
  Math.max(p.inputPerMTok, p.cachedInputPerMTok ?? 0, p.cacheWritePerMTok ?? 0);

/** Pico-dollars → the stored pair (both parts carry the sign, the micro part truncated toward zero). */
export function moneyOf(picos: bigint): Money {
  return { micros: Number(picos / PICOS_PER_MICRO_N), picos: Number(picos % PICOS_PER_MICRO_N) };
}

/**
 * A stored pair (or sums of pairs, as a database returns them: numbers or numeric strings) → pico-dollars.
 * The parts need not be normalised: a sum of pico parts may exceed a micro-dollar.
 */
export function picosOf(micros: unknown, picos: unknown = 0): bigint {
  return BigInt(String(micros ?? 0)) * PICOS_PER_MICRO_N + BigInt(String(picos ?? 0));
}

/** Pico-dollars rounded to the nearest micro-dollar, halves away from zero. */
export function roundToMicros(picos: bigint): number {
  const half = PICOS_PER_MICRO_N / 2n;
  const rounded = picos < 0n ? (picos - half) / PICOS_PER_MICRO_N : (picos + half) / PICOS_PER_MICRO_N;
  return Number(rounded);
}

/** Pico-dollars rounded down to a whole micro-dollar (what a balance can still pay for). */
export function floorToMicros(picos: bigint): number {
  const q = picos / PICOS_PER_MICRO_N;
  return Number(picos < 0n && q * PICOS_PER_MICRO_N !== picos ? q - 1n : q);
}

/**
 * Rounds exact amounts to micro-dollars so that they add up to their rounded total (largest remainder):
 * each line is within one micro-dollar of its exact amount and the lines sum to the total shown, so an
 * invoice's lines, its total and a usage report of the same period all agree. Amounts must be ≥ 0.
 */
export function apportionMicros(amounts: readonly bigint[]): number[] {
  const total = amounts.reduce((s, a) => s + a, 0n);
  const floors = amounts.map((a) => a / PICOS_PER_MICRO_N);
  let missing = BigInt(roundToMicros(total)) - floors.reduce((s, f) => s + f, 0n);
  const byRemainder = amounts
    .map((a, i) => ({ i, rest: a % PICOS_PER_MICRO_N }))
    .sort((x, y) => (x.rest === y.rest ? x.i - y.i : x.rest > y.rest ? -1 : 1));
  const result = floors.map(Number);
  for (const { i } of byRemainder) {
    if (missing <= 0n) break;
    result[i]! += 1;
    missing -= 1n;
  }
  return result;
}
