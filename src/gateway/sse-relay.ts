import type { ServerResponse } from 'node:http';
import { writeOrCut } from '../http/stream-write.js';
import type { ApiError } from '../shared/errors.js';

/** What a finished relay learned, for metering. */
export interface RelaySummary {
  usage: { promptTokens: number; completionTokens: number } | null;
  /** Generated text (content, refusals, tool-call arguments) for token estimates. */
  completionText: string;
  /** The client went away before the end. */
  clientAborted: boolean;
  /** The upstream failed after the stream started. */
  upstreamFailed: boolean;
}

export interface RelayOptions {
  res: ServerResponse;
  first: string;
  rest: AsyncIterator<string>;
  publicModel: string;
  /** Whether the client asked for `stream_options.include_usage`. */
  clientWantsUsage: boolean;
  /** Called when the upstream fails mid-stream, to build the in-stream error event. */
  midStreamError: () => ApiError;
  isClientGone: () => boolean;
  /** A client that accepts no data for this long is cut off, which ends the relay like a client abort. */
  writeTimeoutMs: number;
  /**
   * Runs after the last chunk and before `[DONE]` ends the response (also when the client is gone),
   * so the request is metered durably before the client can consider it complete.
   */
  beforeDone?: (summary: RelaySummary) => Promise<void>;
}

interface ChunkShape {
  model?: unknown;
  usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null;
  choices?: Array<{
    delta?: {
      content?: unknown;
      refusal?: unknown;
      tool_calls?: Array<{ function?: { arguments?: unknown } }>;
    };
  }>;
  error?: unknown;
}

const DONE = 'data: [DONE]\n\n';

/**
 * Relays upstream chunks to the client as they arrive: renames the model to its public id, keeps the
 * usage chunk only when the client asked for it, and always ends with `data: [DONE]`.
 */
export async function relayChatStream(opts: RelayOptions): Promise<RelaySummary> {
  const summary: RelaySummary = {
    usage: null,
    completionText: '',
    clientAborted: false,
    upstreamFailed: false,
  };
  const texts: string[] = [];
  /** Relays one upstream event; false when it carried nothing to relay. */
  const handle = async (data: string): Promise<boolean> => {
    let chunk: ChunkShape;
    try {
      chunk = JSON.parse(data) as ChunkShape;
    } catch {
      return false; // Not JSON (a keep-alive or vendor comment): nothing to relay.
    }
    if (chunk.error) {
      summary.upstreamFailed = true;
      await writeOrCut(
        opts.res,
        `data: ${JSON.stringify(opts.midStreamError().toBody())}\n\n`,
        opts.writeTimeoutMs,
      );
      return true;
    }
    for (const choice of chunk.choices ?? []) {
      const d = choice.delta;
      if (!d) continue;
      if (typeof d.content === 'string') texts.push(d.content);
      if (typeof d.refusal === 'string') texts.push(d.refusal);
      for (const call of d.tool_calls ?? [])
        if (typeof call.function?.arguments === 'string') texts.push(call.function.arguments);
    }
    const usage = chunk.usage;
    if (usage && typeof usage.prompt_tokens === 'number' && typeof usage.completion_tokens === 'number')
      summary.usage = { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
    if (!opts.clientWantsUsage) {
      if (usage && (chunk.choices?.length ?? 0) === 0) return false; // the usage chunk we asked for ourselves
      delete chunk.usage;
    }
    chunk.model = opts.publicModel;
    await writeOrCut(opts.res, `data: ${JSON.stringify(chunk)}\n\n`, opts.writeTimeoutMs);
    return true;
  };

  try {
    // The response headers go out together with the first event (one write); when that event
    // carried nothing to relay, they are sent on their own so the client sees the stream start.
    if (!(await handle(opts.first))) opts.res.flushHeaders();
    while (!summary.upstreamFailed) {
      if (opts.isClientGone()) {
        summary.clientAborted = true;
        break;
      }
      const next = await opts.rest.next();
      if (next.done) break;
      await handle(next.value);
    }
  } catch {
    if (opts.isClientGone()) summary.clientAborted = true;
    else {
      summary.upstreamFailed = true;
      await writeOrCut(
        opts.res,
        `data: ${JSON.stringify(opts.midStreamError().toBody())}\n\n`,
        opts.writeTimeoutMs,
      );
    }
  } finally {
    // Closing the iterator releases the upstream connection when we stop early.
    await opts.rest.return?.().catch(() => undefined);
  }
  summary.completionText = texts.join('');
  await opts.beforeDone?.(summary);
  if (!opts.res.destroyed) {
    await writeOrCut(opts.res, DONE, opts.writeTimeoutMs);
    opts.res.end();
  }
  return summary;
}
