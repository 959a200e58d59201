/** Retry timing of webhook deliveries. */
export interface BackoffPolicy {
  retryBaseMs: number;
  retryFactor: number;
  retryMaxDelayMs: number;
  /** A delivery whose retry round started longer ago than this is given up. */
  giveUpAfterMs: number;
}

/**
 * Delay before retry number `failedAttempts` (1 = after the first failure): exponential growth from
 * the base, capped, with "equal jitter" (half fixed, half random) so replicas and endpoints that failed
 * together do not retry in lockstep. With the defaults the first retry comes 2.5–5 s after a failure.
 */
export function retryDelayMs(policy: BackoffPolicy, failedAttempts: number, random = Math.random): number {
  const exp = policy.retryBaseMs * policy.retryFactor ** Math.max(0, failedAttempts - 1);
  const capped = Math.min(policy.retryMaxDelayMs, exp);
  return Math.round(capped / 2 + (capped / 2) * random());
}

/** When to try again after a failure, or null when the delivery should be given up. */
export function nextAttemptAt(
  policy: BackoffPolicy,
  roundStartedAt: number,
  failedAttempts: number,
  now: number,
  random = Math.random,
): number | null {
  const at = now + retryDelayMs(policy, failedAttempts, random);
  return at - roundStartedAt > policy.giveUpAfterMs ? null : at;
}
