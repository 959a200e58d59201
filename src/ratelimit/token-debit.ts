import type { AdmissionRequest, MeterTicket, UsageMeter, UsageOutcome } from '../billing/meter.js';
import type { RequestLimiter } from './types.js';

/** Tokens an answered request used: the upstream's count, else an estimate from the text (~4 chars a token). */
export function tokensUsed(outcome: UsageOutcome): number {
  if (!outcome.answered) return 0;
  if (outcome.usage) return outcome.usage.promptTokens + outcome.usage.completionTokens;
  return Math.ceil((outcome.promptText.length + outcome.completionText.length) / 4);
}

/**
 * Wraps a meter so every settled request also debits its actual tokens from the tenant's
 * tokens-per-minute budget. Only wired when some plan has `tpm`.
 */
export function debitTokensOnSettle(meter: UsageMeter, limiter: RequestLimiter): UsageMeter {
  return {
    async admit(req: AdmissionRequest): Promise<MeterTicket> {
      const ticket = await meter.admit(req);
      let settled = false;
      return {
        completionCap: ticket.completionCap,
        async settle(outcome: UsageOutcome): Promise<void> {
          // Like the meter's own tickets, only the first settle counts.
          if (settled) return;
          settled = true;
          await ticket.settle(outcome);
          const tokens = tokensUsed(outcome);
          if (tokens > 0) await limiter.recordTokens(req.auth, tokens);
        },
      };
    },
    flush: () => meter.flush(),
  };
}

/** The meter itself when no plan has `tpm`, else the meter wrapped to debit tokens. */
export function withTokenLimits(
  meter: UsageMeter,
  limiter: RequestLimiter,
  plans: Record<string, { tpm?: number | undefined }>,
): UsageMeter {
  return Object.values(plans).some((p) => p.tpm) ? debitTokensOnSettle(meter, limiter) : meter;
}
