import type { FastifyReply } from 'fastify';
import type { ModelConfig } from '../config/schema.js';
import { openSse, type SseWriter } from '../http/sse.js';
import { type ChatChunk, isUsageOnly } from './chat-chunks.js';
import { type ChunkSink, midStreamFailure } from './inference-pipeline.js';

const DONE = 'data: [DONE]\n\n';

/**
 * Renders a streamed chat completion as OpenAI's Server-Sent Events: renames the model to its public
 * id, keeps the usage chunk only when the client asked for it, and ends with `data: [DONE]` (`end`,
 * after the pipeline has settled the call, so a client that saw the whole stream has its usage record).
 */
export class ChatSseRelay implements ChunkSink {
  private sse: SseWriter | undefined;
  private publicModel = '';
  private wrote = false;

  constructor(
    private readonly reply: FastifyReply,
    /** Whether the client asked for `stream_options.include_usage`. */
    private readonly clientWantsUsage: boolean,
    /** A client that accepts no data for this long is cut off, which ends the stream like an abort. */
    private readonly writeTimeoutMs: number,
  ) {}

  open(model: ModelConfig): void {
    this.publicModel = model.id;
    // The headers go out with the first event, written in this same tick: one write, not two.
    this.sse = openSse(this.reply, this.writeTimeoutMs);
  }

  chunk(chunk: ChatChunk): Promise<void> | void {
    if (!this.clientWantsUsage) {
      if (isUsageOnly(chunk)) return; // the usage chunk we asked for ourselves
      delete chunk.usage;
    }
    chunk.model = this.publicModel;
    return this.write(`data: ${JSON.stringify(chunk)}\n\n`);
  }

  started(): void {
    // When the first event carried nothing to relay, the headers go out on their own.
    if (!this.wrote) this.sse?.res.flushHeaders();
  }

  failed(): Promise<void> {
    return this.write(`data: ${JSON.stringify(midStreamFailure().toBody())}\n\n`);
  }

  /** Ends the response, unless the client is gone. */
  async end(): Promise<void> {
    const sse = this.sse;
    if (!sse || sse.res.destroyed) return;
    await sse.write(DONE);
    sse.end();
  }

  private write(text: string): Promise<void> {
    this.wrote = true;
    return this.sse!.write(text);
  }
}
