import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { writeOrCut } from './stream-write.js';

/** A Server-Sent Events response the route writes itself (the reply is hijacked). */
export interface SseWriter {
  readonly res: ServerResponse;
  /** Writes pre-framed events; waits while the client is slow, cuts a client that stalls. */
  write(text: string): Promise<void>;
  /** Ends the response, with its last events when given (one write for both). */
  end(text?: string): void;
}

/**
 * Starts the event stream with the reply's headers so far (request id, rate-limit headers). The
 * headers go out with the first write.
 */
export function openSse(reply: FastifyReply, writeTimeoutMs: number): SseWriter {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  return {
    res,
    write: (text) => (text === '' ? Promise.resolve() : writeOrCut(res, text, writeTimeoutMs)),
    end: (text) => {
      if (res.destroyed) return;
      if (text) res.end(text);
      else res.end();
    },
  };
}

/** Events with a name: `event: <type>` then the JSON, as the Responses and Messages APIs stream them. */
export const namedEvents = (events: ReadonlyArray<{ type: string; [field: string]: unknown }>) =>
  events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('');
