import type { EventBatch } from '../providers/types.js';
import type { CancelSignal } from '../shared/cancel-signal.js';
import type { Admitted } from './admitted-call.js';
import type { ChunkSink, StreamSummary } from './inference-call.js';
import type { RoutedStream } from './model-router.js';
import { type StreamReader, UPSTREAM_FAILED } from './stream-readers.js';

/**
 * Relays a routed stream into `sink` until it ends, the caller leaves or the upstream fails, and
 * settles the call however it ended. `reader` meters each event and hands it to the sink; the sink
 * flushes after each upstream read's events.
 */
export async function relayStream<E>(
  signal: CancelSignal,
  admitted: Admitted<unknown>,
  routed: RoutedStream & { ok: true },
  sink: ChunkSink<E>,
  reader: StreamReader,
): Promise<StreamSummary> {
  const summary: StreamSummary = {
    usage: null,
    completionText: '',
    clientAborted: false,
    upstreamFailed: false,
  };
  const fail = () => {
    summary.upstreamFailed = true;
    return sink.failed();
  };
  /**
   * The events of one upstream read, in order; stops early when the upstream failed or the caller
   * left. The stream's last events stay with the sink, for its closing write.
   */
  const relay = async (events: EventBatch): Promise<void> => {
    for (let i = 0; i < events.length; i++) {
      const step = reader.read(events[i]!);
      if (step === UPSTREAM_FAILED) return fail();
      if (step) await step;
      if (i < events.length - 1 && signal.aborted) {
        summary.clientAborted = true;
        break;
      }
    }
    if (!events.last) await sink.flush?.();
  };
  const { rest } = routed;
  try {
    await sink.open(admitted.model, routed.route);
    await relay(routed.first);
    sink.started?.();
    while (!summary.upstreamFailed && !summary.clientAborted) {
      if (signal.aborted) {
        summary.clientAborted = true;
        break;
      }
      const next = await rest.next();
      if (next.done) break;
      await relay(next.value);
    }
  } catch {
    if (signal.aborted) summary.clientAborted = true;
    else await fail();
  } finally {
    // Closing the iterator releases the upstream connection when the stream stops early.
    await rest.return?.().catch(() => undefined);
    summary.usage = reader.usage;
    summary.completionText = reader.completionText();
    await admitted.settleStream(routed.route, summary);
  }
  return summary;
}
