import { StringDecoder } from 'node:string_decoder';
import type { EventBatch } from './types.js';

/**
 * The most text one event may hold while it is assembled (16 Mi characters). An upstream that sends
 * more without ending the event fails its stream, instead of growing the gateway's memory for everyone.
 */
export const MAX_EVENT_CHARS = 16 * 1024 * 1024;

/** An upstream event longer than the parser's limit. */
export class SseEventTooLarge extends Error {
  constructor(limit: number) {
    super(`upstream sent an event longer than ${limit} characters`);
    this.name = 'SseEventTooLarge';
  }
}

/**
 * Incremental Server-Sent Events parser: feed it text as it arrives and it yields the `data` of each
 * complete event (multi-line data joined with `\n`). Comments and other fields are ignored.
 */
export class SseParser {
  /** The text since the last line break, in the pieces it came in (joined once a line completes). */
  private partial: string[] = [];
  private partialChars = 0;
  private data: string[] = [];
  private dataChars = 0;

  constructor(private readonly maxEventChars = MAX_EVENT_CHARS) {}

  /**
   * Returns the events completed by this piece of text. Text without a line break is only held, so a
   * long line arriving in many pieces is scanned and copied once, not once per piece. Throws
   * `SseEventTooLarge` once the event being assembled passes the limit.
   */
  push(text: string): string[] {
    const events: string[] = [];
    if (!text.includes('\n')) {
      if (text !== '') {
        this.partial.push(text);
        this.partialChars += text.length;
        this.checkSize();
      }
      return events;
    }
    const buffer = this.partial.length > 0 ? this.partial.join('') + text : text;
    this.partial = [];
    this.partialChars = 0;
    let start = 0;
    for (;;) {
      const nl = buffer.indexOf('\n', start);
      if (nl === -1) break;
      let line = buffer.slice(start, nl);
      start = nl + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (this.data.length > 0) events.push(this.data.join('\n'));
        this.data = [];
        this.dataChars = 0;
      } else if (line.startsWith('data:')) {
        const data = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
        this.data.push(data);
        this.dataChars += data.length;
      }
    }
    if (start < buffer.length) {
      this.partial.push(buffer.slice(start));
      this.partialChars = buffer.length - start;
    }
    this.checkSize();
    return events;
  }

  private checkSize(): void {
    if (this.partialChars + this.dataChars > this.maxEventChars)
      throw new SseEventTooLarge(this.maxEventChars);
  }

  /** Flushes an event that the stream ended without a blank line after. */
  end(): string[] {
    const rest = this.push('\n\n');
    this.partial = [];
    return rest;
  }
}

// How long to wait, after `[DONE]`, for the upstream to end its response before cutting it off.
const DRAIN_AFTER_DONE_MS = 100;

/**
 * Turns a byte stream into SSE `data` payloads, stopping at `[DONE]`: one batch per read of the body,
 * holding the events that read completed (reads that complete none yield nothing), so a relay handles
 * and writes a read's events together; the events before `[DONE]` come once the body is over, marked
 * `last`. After `[DONE]` the rest of the response (normally just its end) is read rather than cut off: destroying a finished body costs an AbortError with a stack trace
 * per stream. Stopping early (the consumer returns) destroys the body, which aborts the upstream request.
 */
export async function* sseEvents(
  body: AsyncIterable<Buffer | string> & { destroy?(): unknown; readonly readableEnded?: boolean },
  maxEventChars = MAX_EVENT_CHARS,
): AsyncGenerator<EventBatch> {
  const parser = new SseParser(maxEventChars);
  // Node's own UTF-8 decoder: a TextDecoder sets up an ICU converter per stream.
  const decoder = new StringDecoder('utf8');
  const chunks = body[Symbol.asyncIterator]();
  let ended = false;
  let first = true;
  try {
    for (;;) {
      const next = await chunks.next();
      if (next.done) {
        ended = true;
        break;
      }
      let text = typeof next.value === 'string' ? next.value : decoder.write(next.value);
      // An event stream may start with a byte-order mark, which is not part of its first line.
      if (first && text !== '') {
        first = false;
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      const events = parser.push(text);
      const done = events.indexOf('[DONE]');
      if (done === -1) {
        if (events.length > 0) yield events;
        continue;
      }
      // Usually the end of the body came in the same read as [DONE]: nothing to wait for.
      ended = body.readableEnded === true || (await drained(chunks));
      // A read is still pending on the open body; only destroying it settles that read.
      if (!ended) body.destroy?.();
      // Yielded once the body is over, so the relay may write them with its own end.
      if (done > 0) yield lastBatch(events.slice(0, done));
      return;
    }
    const rest = parser.end();
    const done = rest.indexOf('[DONE]');
    const last = done === -1 ? rest : rest.slice(0, done);
    if (last.length > 0) yield lastBatch(last);
  } finally {
    if (!ended) await chunks.return?.();
  }
}

const lastBatch = (events: string[]): EventBatch => Object.assign(events, { last: true as const });

/** Reads to the end of the body; false when it did not end within DRAIN_AFTER_DONE_MS. */
async function drained(chunks: AsyncIterator<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, DRAIN_AFTER_DONE_MS, false);
  });
  try {
    for (;;) {
      const next = await Promise.race([chunks.next(), late]);
      if (next === false) return false;
      if (next.done) return true;
    }
  } catch {
    return true; // the body failed after [DONE]: nothing left to release
  } finally {
    clearTimeout(timer);
  }
}
