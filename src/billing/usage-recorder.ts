import type { Logger } from 'pino';
import type { Db } from '../accounts/tenant-store.js';
import type { NewUsageRecordRow } from '../storage/tables.js';
import type { AdmissionRequest, MeterTicket, UsageMeter, UsageOutcome } from './meter.js';
import { costMicros } from './money.js';

// Without usage from the upstream we fall back to ~4 characters per token.
const estimateTokens = (text: string) => (text.length === 0 ? 0 : Math.max(1, Math.round(text.length / 4)));

/**
 * Writes one usage record per admitted request, batched off the hot path. Credit checks and the
 * ledger come with billing; this is the data plane's record of what it served.
 */
export class UsageRecorder implements UsageMeter {
  private buffer: NewUsageRecordRow[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly flushDelayMs = 50,
  ) {}

  async admit(req: AdmissionRequest): Promise<MeterTicket> {
    let settled = false;
    return {
      settle: (outcome) => {
        if (settled) return;
        settled = true;
        this.enqueue(recordOf(req, outcome));
      },
    };
  }

  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.flushing.then(async () => {
      if (batch.length === 0) return;
      try {
        await this.db.insertInto('usage_records').values(batch).execute();
      } catch (err) {
        this.logger.error({ err, records: batch.length }, 'failed to write usage records');
      }
    });
    return this.flushing;
  }

  private enqueue(row: NewUsageRecordRow): void {
    this.buffer.push(row);
    if (this.buffer.length >= 200) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushDelayMs);
  }
}

function recordOf(req: AdmissionRequest, o: UsageOutcome): NewUsageRecordRow {
  const estimated = o.answered && o.usage === null;
  const prompt = !o.answered ? 0 : (o.usage?.promptTokens ?? estimateTokens(o.promptText));
  const completion = !o.answered ? 0 : (o.usage?.completionTokens ?? estimateTokens(o.completionText));
  return {
    request_id: req.requestId,
    tenant_id: req.auth.tenant.id,
    key_id: req.auth.key.id,
    model: req.model.id,
    provider: o.provider,
    upstream_model: o.upstreamModel,
    endpoint: req.endpoint,
    prompt_tokens: prompt,
    completion_tokens: completion,
    cost_micros: costMicros(
      prompt,
      completion,
      req.model.pricing.inputPerMTok,
      req.model.pricing.outputPerMTok,
    ),
    status: o.status,
    streamed: req.streamed ? 1 : 0,
    estimated: estimated ? 1 : 0,
    latency_ms: Math.round(o.latencyMs),
    created_at: Date.now(),
  };
}
