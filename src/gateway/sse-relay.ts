import type { FastifyReply } from 'fastify';
import type { ModelConfig } from '../config/schema.js';
import { openSse, type SseWriter } from '../http/sse.js';
import type { ObjectLayout } from '../shared/json-members.js';
import { type ChatChunk, isUsageOnly, renderPlainChunk } from './chat-chunks.js';
import { midStreamFailure } from './inference-call.js';
import type { PassingSink } from './stream-readers.js';

const DONE = 'data: [DONE]\n\n';

/**
 * Renders a streamed chat completion as OpenAI's Server-Sent Events: renames the model to its public
 * id, keeps the usage chunk only when the client asked for it, and ends with `data: [DONE]` (`end`,
 * after the pipeline has settled the call, so a client that saw the whole stream has its usage record).
 * Chunks without usage come as their upstream text and are edited in place, not re-serialised; the
 * events of one upstream read go out in one write (`flush`), the stream's last ones with `[DONE]`.
 */
export class ChatSseRelay implements PassingSink {
  private sse: SseWriter | undefined;
  private publicModel = '';
  /** The public id as JSON, as it is written into passed-on chunks. */
  private modelJson = '';
  /** Events rendered since the last flush. */
  private pending = '';
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
    this.modelJson = JSON.stringify(model.id);
    // The headers go out with the first events, written in this same tick: one write, not two.
    this.sse = openSse(this.reply, this.writeTimeoutMs);
  }

  chunk(chunk: ChatChunk): void {
    if (!this.clientWantsUsage) {
      if (isUsageOnly(chunk)) return; // the usage chunk we asked for ourselves
      delete chunk.usage;
    }
    chunk.model = this.publicModel;
    this.pending += `data: ${JSON.stringify(chunk)}\n\n`;
  }

  passOn(data: string, layout: ObjectLayout): void {
    this.pending += `data: ${renderPlainChunk(data, layout, this.modelJson, this.clientWantsUsage)}\n\n`;
  }

  flush(): Promise<void> | void {
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    return this.write(text);
  }

  started(): void {
    // When the first events carried nothing to relay, the headers go out on their own (events held
    // for the closing write take them along).
    if (!this.wrote && this.pending === '') this.sse?.res.flushHeaders();
  }

  failed(): Promise<void> | void {
    this.pending += `data: ${JSON.stringify(midStreamFailure().toBody())}\n\n`;
    return this.flush();
  }

  /** Ends the response, unless the client is gone. */
  async end(): Promise<void> {
    const sse = this.sse;
    if (!sse || sse.res.destroyed) return;
    const rest = this.pending + DONE;
    this.pending = '';
    sse.end(rest);
  }

  private write(text: string): Promise<void> {
    this.wrote = true;
    return this.sse!.write(text);
  }
}
