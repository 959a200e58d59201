import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { CancelSignal } from '../shared/cancel-signal.js';

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

/**
 * Like `clientAbortSignal`, for the gateway's hot path: a plain listener list instead of an
 * AbortController (and an EventTarget) per request, since the attempt's own controller is the
 * one the upstream request needs. `dispose` stops watching the connection.
 */
export class ClientDisconnect implements CancelSignal {
  aborted = false;
  reason: unknown = undefined;
  private listeners: Array<() => void> = [];
  private readonly res: ServerResponse;
  private readonly onClose = () => {
    if (this.res.writableFinished) return;
    this.aborted = true;
    this.reason = new Error('client disconnected');
    for (const listener of this.listeners.splice(0)) listener();
  };

  constructor(reply: FastifyReply) {
    this.res = reply.raw;
    this.res.on('close', this.onClose);
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  dispose(): void {
    this.res.off('close', this.onClose);
    this.listeners.length = 0;
  }
}
