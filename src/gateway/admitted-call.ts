import type { MeterTicket, UsageOutcome } from '../billing/meter.js';
import type { ModelConfig } from '../config/schema.js';
import type { RequestLimiter } from '../ratelimit/types.js';
import type { ReportedUsage } from './chat-chunks.js';
import {
  type InferenceCall,
  type JsonAnswer,
  routeHeaderValue,
  type StreamSummary,
} from './inference-call.js';
import type { RoutedJson, RoutedStream, RouteUsed } from './model-router.js';
import type { MeasuredPrompt } from './prompt-size.js';

/**
 * One admitted call and its credit ticket: the only place a call is settled, and only once (the
 * first outcome counts). With token limits, the tokens it used are debited right after.
 */
export class Admitted<B> {
  private settled = false;
  private cache: 'hit' | 'miss' | undefined;
  private priceFactor = 1;

  constructor(
    private readonly call: InferenceCall,
    readonly model: ModelConfig,
    /** What goes upstream: the caller's body, with the completion cap the balance affords. */
    public body: B,
    readonly ticket: MeterTicket,
    private readonly prompt: MeasuredPrompt,
    private readonly tokenLimiter: RequestLimiter | undefined,
    /** Whether the caller is told the route (`x-simo-route`, on `InferenceCall.headers`). */
    private readonly announceRoute: boolean,
  ) {}

  /** Whether the response cache answered the call, and the price share it is billed at. */
  cacheOutcome(outcome: 'hit' | 'miss', priceFactor: number): void {
    this.cache = outcome;
    this.priceFactor = priceFactor;
  }

  /** Routes the call; when no route answers (or routing throws), settles it as not answered. */
  async route<R extends RoutedJson | RoutedStream>(attempt: () => Promise<R>): Promise<R & { ok: true }> {
    let routed: R;
    try {
      routed = await attempt();
    } catch (err) {
      // A bug, not an upstream failure: release the reservation (nothing was served) and let it surface.
      await this.settle(this.notAnswered(500, 0));
      throw err;
    }
    if (!routed.ok) {
      await this.settle(this.notAnswered(routed.error.status, routed.attempts));
      throw routed.error;
    }
    if (this.announceRoute) this.call.headers?.header('x-simo-route', routeHeaderValue(routed.route));
    return routed as R & { ok: true };
  }

  /**
   * The response cache answered: the route is the one that made the cached answer, with no attempt
   * made now, and the caller is told so (`cache: 'hit'` in `x-simo-route`).
   */
  fromCache(route: RouteUsed): RouteUsed {
    const served: RouteUsed = { provider: route.provider, upstreamModel: route.upstreamModel, attempts: 0 };
    if (this.announceRoute) this.call.headers?.header('x-simo-route', routeHeaderValue(served, 'hit'));
    return served;
  }

  /** Settles a whole answer and renames its model to the public id. */
  async answer(
    routed: RoutedJson & { ok: true },
    completionText: string,
    usage: ReportedUsage | null,
  ): Promise<JsonAnswer> {
    routed.body.model = this.model.id;
    await this.settle(this.answered(routed.route, completionText, usage));
    return { body: routed.body, usage, route: routed.route };
  }

  /**
   * What a stream generated is billed; a stream that failed before producing anything (no text, no
   * usage) was not answered and costs nothing. Without the upstream's usage, the text is estimated.
   */
  settleStream(route: RouteUsed, summary: StreamSummary): Promise<void> {
    const nothing = summary.upstreamFailed && summary.usage === null && summary.completionText === '';
    return this.settle(
      nothing
        ? this.notAnswered(502, route.attempts)
        : this.answered(route, summary.completionText, summary.usage),
    );
  }

  private async settle(outcome: UsageOutcome): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    this.call.trace?.settled(outcome);
    await this.ticket.settle(outcome);
    if (!this.tokenLimiter) return;
    const tokens = tokensUsed(outcome, this.prompt.size.framingTokens);
    if (tokens > 0) await this.tokenLimiter.recordTokens(this.call.auth, tokens);
  }

  private answered(route: RouteUsed, completionText: string, usage: ReportedUsage | null): UsageOutcome {
    return {
      status: 200,
      answered: true,
      provider: route.provider,
      upstreamModel: route.upstreamModel,
      attempts: route.attempts,
      usage,
      promptText: this.prompt.text,
      completionText,
      latencyMs: performance.now() - this.call.startedAt,
      ...(this.cache ? { cache: this.cache, priceFactor: this.priceFactor } : {}),
    };
  }

  /** The outcome of a call no upstream answered: it costs nothing. */
  private notAnswered(status: number, attempts: number): UsageOutcome {
    return {
      status,
      answered: false,
      provider: null,
      upstreamModel: null,
      attempts,
      usage: null,
      promptText: this.prompt.text,
      completionText: '',
      latencyMs: performance.now() - this.call.startedAt,
      ...(this.cache ? { cache: this.cache } : {}),
    };
  }
}

/**
 * Tokens an answered call used: the upstream's count, else an estimate from the text (~4 chars a token)
 * plus the prompt's tokens that are not text (framing, media parts, token ids), as the meter bills them.
 */
export function tokensUsed(outcome: UsageOutcome, promptFramingTokens: number): number {
  if (!outcome.answered) return 0;
  if (outcome.usage) return outcome.usage.promptTokens + outcome.usage.completionTokens;
  return Math.ceil((outcome.promptText.length + outcome.completionText.length) / 4) + promptFramingTokens;
}
