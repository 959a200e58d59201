/**
 * The usage thresholds a debit crosses: those whose share of the granted credit lies in
 * (consumedBefore, consumedAfter], not yet announced in this grant period. A threshold is crossed, not
 * merely exceeded, so a new grant that leaves consumption above a threshold does not re-announce it.
 */
export function crossedThresholds(
  thresholds: readonly number[],
  grantedMicros: number,
  consumedBefore: number,
  consumedAfter: number,
  alreadyFired: readonly number[],
): number[] {
  if (grantedMicros <= 0) return [];
  return [...new Set(thresholds)]
    .sort((a, b) => a - b)
    .filter((t) => {
      const limit = Math.round(t * grantedMicros);
      return !alreadyFired.includes(t) && consumedBefore < limit && consumedAfter >= limit;
    });
}
