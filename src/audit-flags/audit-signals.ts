import type { Logger } from 'pino';
import { API_KEY_PREFIX, isWellFormedApiKey } from '../accounts/api-key-format.js';
import type { AuthContext } from '../accounts/authenticator.js';
import type { Config } from '../config/schema.js';
import type { Db } from '../shared/db.js';
import { type AuditFlag, raiseFlag, tenantsWithKeyPrefix } from './flag-store.js';
import { DistinctCounter, RateHistory, SlidingCounter } from './windows.js';

const DISPLAY_PREFIX_LENGTH = API_KEY_PREFIX.length + 4;

/**
 * Cheap hooks the request path calls to feed the audit rules. Counting happens in memory on the
 * caller's tick; raising a flag (database writes) happens in the background, at most once per rule
 * and subject per cooldown, so a rule that keeps firing cannot flood the audit log.
 */
export class AuditSignals {
  private readonly failedAuth: SlidingCounter;
  private readonly keyIps: DistinctCounter;
  private readonly rates: RateHistory;
  private readonly patterns: RegExp[];
  private readonly lastFlagged = new Map<string, number>();
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly db: Db,
    private readonly rules: Config['auditRules'],
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly now: () => number = Date.now,
  ) {
    this.failedAuth = new SlidingCounter(rules.failedAuthWindowMs);
    this.keyIps = new DistinctCounter(rules.distinctIpWindowMs);
    this.rates = new RateHistory(rules.spikeWindowMs, rules.spikeBaselineWindows);
    this.patterns = rules.contentPatterns.map((p) => new RegExp(p, 'i'));
  }

  /**
   * A request presented an API key that failed authentication. Only well-formed keys count (typos and
   * scanners' garbage cannot be tied to a tenant), and only their display prefix is kept.
   */
  onAuthFailure(ip: string, presentedKey: string | undefined): void {
    if (!this.rules.enabled || !presentedKey || !isWellFormedApiKey(presentedKey)) return;
    const prefix = presentedKey.slice(0, DISPLAY_PREFIX_LENGTH);
    const count = this.failedAuth.add(prefix, this.now());
    if (count < this.rules.failedAuthThreshold) return;
    this.failedAuth.reset(prefix);
    this.background(async () => {
      for (const tenantId of await tenantsWithKeyPrefix(this.db, prefix))
        await this.flag({
          tenantId,
          rule: 'failed_auth_burst',
          subject: prefix,
          detail: {
            key_prefix: prefix,
            failures: count,
            window_seconds: this.rules.failedAuthWindowMs / 1000,
            last_ip: ip,
          },
        });
    });
  }

  /**
   * An authenticated request: feeds the distinct-IP and rate-spike rules. `address` is the client's
   * address key (an IPv6 client's rotating addresses within its network count once).
   */
  onRequest(auth: AuthContext, address: string): void {
    if (!this.rules.enabled) return;
    const now = this.now();
    const ips = this.keyIps.add(auth.key.id, address, now);
    if (ips >= this.rules.distinctIpThreshold) {
      this.keyIps.reset(auth.key.id);
      this.background(() =>
        this.flag({
          tenantId: auth.tenant.id,
          rule: 'key_many_ips',
          subject: auth.key.id,
          detail: {
            key_id: auth.key.id,
            key_prefix: auth.key.prefix,
            distinct_ips: ips,
            window_seconds: this.rules.distinctIpWindowMs / 1000,
          },
        }),
      );
    }
    const rate = this.rates.add(auth.tenant.id, now);
    const { spikeFactor, spikeMinRequests, spikeMinHistoryWindows } = this.rules;
    if (
      rate.history >= spikeMinHistoryWindows &&
      rate.current >= spikeMinRequests &&
      rate.current > spikeFactor * rate.baseline
    ) {
      this.background(() =>
        this.flag({
          tenantId: auth.tenant.id,
          rule: 'request_spike',
          subject: auth.tenant.id,
          detail: {
            requests_in_window: rate.current,
            usual_per_window: Math.round(rate.baseline * 100) / 100,
            window_seconds: this.rules.spikeWindowMs / 1000,
          },
        }),
      );
    }
  }

  /** A prompt about to be sent upstream: checked against the operator's content policy. */
  onPrompt(auth: AuthContext, text: string): void {
    if (!this.rules.enabled || this.patterns.length === 0) return;
    const index = this.patterns.findIndex((p) => p.test(text));
    if (index < 0) return;
    // The prompt itself is not copied into the audit trail; the pattern says what matched.
    this.background(() =>
      this.flag({
        tenantId: auth.tenant.id,
        rule: 'content_policy',
        subject: auth.key.id,
        detail: { key_id: auth.key.id, pattern: this.rules.contentPatterns[index] },
      }),
    );
  }

  /** Waits for flags being written (tests, shutdown). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private async flag(flag: AuditFlag): Promise<void> {
    const key = `${flag.rule}:${flag.tenantId}:${flag.subject}`;
    const now = this.now();
    const last = this.lastFlagged.get(key);
    if (last !== undefined && now - last < this.rules.cooldownMs) return;
    this.lastFlagged.set(key, now);
    if (this.lastFlagged.size > 10_000) {
      for (const [k, at] of this.lastFlagged)
        if (now - at >= this.rules.cooldownMs) this.lastFlagged.delete(k);
    }
    await raiseFlag(this.db, flag, now);
  }

  private background(work: () => Promise<void>): void {
    const p = work()
      .catch((err) => this.logger.warn({ err }, 'raising an audit flag failed'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }
}
