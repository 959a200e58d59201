/**
 * Incremental Server-Sent Events parser: feed it text as it arrives and it yields the `data` of each
 * complete event (multi-line data joined with `\n`). Comments and other fields are ignored.
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];

  /** Returns the events completed by this piece of text. */
  push(text: string): string[] {
    this.buffer += text;
    const events: string[] = [];
    let start = 0;
    for (;;) {
      const nl = this.buffer.indexOf('\n', start);
      if (nl === -1) break;
      let line = this.buffer.slice(start, nl);
      start = nl + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (this.data.length > 0) events.push(this.data.join('\n'));
        this.data = [];
      } else if (line.startsWith('data:')) {
        this.data.push(line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5));
      }
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /** Flushes an event that the stream ended without a blank line after. */
  end(): string[] {
    const rest = this.push('\n\n');
    this.buffer = '';
    return rest;
  }
}

/** Turns a byte stream into SSE `data` payloads, stopping at `[DONE]`. */
export async function* sseEvents(body: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  const parser = new SseParser();
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    for (const event of parser.push(text)) {
      if (event === '[DONE]') return;
      yield event;
    }
  }
  for (const event of parser.end()) {
    if (event === '[DONE]') return;
    yield event;
  }
}
