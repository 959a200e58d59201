import type { ObjectLayout } from '../shared/json-members.js';
import {
  type ChatChunk,
  collectDeltaText,
  parseChunk,
  plainChunkLayout,
  type ReportedUsage,
  reportedUsage,
} from './chat-chunks.js';
import type { ChunkSink } from './inference-call.js';

/** An event that says the upstream failed: the relay stops and tells the sink. */
export const UPSTREAM_FAILED = 'upstream failed';

/** Reads a streamed answer's events for the meter and hands them to the sink. */
export interface StreamReader {
  /** One upstream event's data; a promise while the sink takes it. */
  read(data: string): Promise<void> | void | typeof UPSTREAM_FAILED;
  /** The usage the stream reported so far. */
  readonly usage: ReportedUsage | null;
  /** The generated text, for a token estimate (read once the stream is over). */
  completionText(): string;
}

/** Parses every event: for sinks that translate or inspect each one. */
export class ParsedReader<E extends { error?: unknown }> implements StreamReader {
  usage: ReportedUsage | null = null;
  private readonly texts: string[] = [];

  constructor(
    private readonly sink: ChunkSink<E>,
    /** Reads an event's text into `texts`, and returns the usage it reports. */
    private readonly tally: (event: E, texts: string[]) => ReportedUsage | null,
  ) {}

  read(data: string): Promise<void> | void | typeof UPSTREAM_FAILED {
    const event = parseChunk(data) as E | undefined;
    if (event === undefined) return undefined;
    // Anthropic's in-stream failure is `{"type":"error","error":{…}}`, OpenAI's `{"error":{…}}`.
    if (event.error) return UPSTREAM_FAILED;
    const usage = this.tally(event, this.texts);
    if (usage) this.usage = usage;
    return this.sink.chunk(event);
  }

  completionText(): string {
    return this.texts.join('');
  }
}

/** A chat sink that also takes chunks as their upstream text. */
export type PassingSink = ChunkSink & {
  passOn(data: string, layout: ObjectLayout): Promise<void> | void;
};

// Text of chunks held unread before it is read anyway, so a long stream holds no more than this.
const HELD_CHARS = 64 * 1024;

/**
 * A chat stream for a sink that renders chunks from their text: only chunks that may carry usage or an
 * error are parsed (usually just the last); the others are passed on as they came. Their generated text
 * is needed only when the stream ends without usage (the token estimate), so they are kept and read
 * then, or once they outgrow HELD_CHARS; with usage reported, `completionText` holds only the text read
 * anyway.
 */
export class PassingChatReader implements StreamReader {
  usage: ReportedUsage | null = null;
  private readonly texts: string[] = [];
  private held: string[] = [];
  private heldChars = 0;

  constructor(private readonly sink: PassingSink) {}

  read(data: string): Promise<void> | void | typeof UPSTREAM_FAILED {
    const layout = plainChunkLayout(data);
    if (layout === undefined) return this.readParsed(data);
    this.held.push(data);
    this.heldChars += data.length;
    if (this.heldChars > HELD_CHARS) this.readHeld();
    return this.sink.passOn(data, layout);
  }

  completionText(): string {
    if (this.usage === null) this.readHeld();
    return this.texts.join('');
  }

  private readParsed(data: string): Promise<void> | void | typeof UPSTREAM_FAILED {
    const chunk = parseChunk(data);
    if (chunk === undefined) return undefined;
    if (chunk.error) return UPSTREAM_FAILED;
    const pieces: string[] = [];
    collectDeltaText(chunk, pieces);
    // The held chunks' text comes first.
    if (pieces.length > 0) this.readHeld();
    for (const piece of pieces) this.texts.push(piece);
    const usage = reportedUsage(chunk.usage);
    if (usage) this.usage = usage;
    return this.sink.chunk(chunk);
  }

  private readHeld(): void {
    for (const data of this.held) {
      const chunk: ChatChunk | undefined = parseChunk(data);
      if (chunk) collectDeltaText(chunk, this.texts);
    }
    this.held = [];
    this.heldChars = 0;
  }
}
