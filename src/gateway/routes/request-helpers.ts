import type { FastifyReply } from 'fastify';

/** A request's client-disconnect signal; `dispose` stops watching the connection. */
export interface ClientAbort {
  signal: AbortSignal;
  dispose(): void;
}

/**
 * An abort signal that fires when the client disconnects before the response is complete, so the
 * upstream request is cancelled at once instead of generating tokens nobody reads.
 */
export function clientAbortSignal(reply: FastifyReply): ClientAbort {
  const controller = new AbortController();
  const res = reply.raw;
  const onClose = () => {
    if (!res.writableFinished) controller.abort(new Error('client disconnected'));
  };
  res.on('close', onClose);
  return { signal: controller.signal, dispose: () => res.off('close', onClose) };
}

/** The text of a conversation, for token estimates when an upstream reports no usage. */
export function promptTextOf(messages: ReadonlyArray<{ content?: unknown }>): string {
  const parts: string[] = [];
  for (const m of messages) {
    if (typeof m.content === 'string') parts.push(m.content);
    else if (Array.isArray(m.content))
      for (const p of m.content)
        if (p && typeof (p as { text?: unknown }).text === 'string') parts.push((p as { text: string }).text);
  }
  return parts.join('\n');
}

// A rough upper bound (~3 characters per token, plus per-message overhead) for admission-time reservations.
export const estimatePromptTokens = (text: string) => Math.ceil(text.length / 3) + 8;
