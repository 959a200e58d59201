import type { IncomingHttpHeaders } from 'node:http';
import { type Dispatcher, errors as undiciErrors } from 'undici';
import type { CancelSignal } from '../shared/cancel-signal.js';

/** Bytes held for a reader that is not keeping up before the upstream is paused. */
const HIGH_WATER_BYTES = 64 * 1024;

export interface ExchangeRequest {
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  signal: CancelSignal;
}

/** A whole answer passed the size the reader accepts; the request was aborted there. */
export class UpstreamAnswerTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`upstream answer is larger than ${maxBytes} bytes`);
    this.name = 'UpstreamAnswerTooLarge';
  }
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

/**
 * One POST to an upstream through the dispatcher's handler interface. The response body is held as
 * the chunks that arrived: no Readable stream, body mixin or async resource per request, which
 * undici's `request()` builds and which cost a proxy about a seventh of its CPU per request.
 *
 * `send` resolves with the exchange once the status and headers are in (or rejects with the
 * transport error); the body is then read whole (`text`) or as it comes (`body`).
 */
export class UpstreamExchange implements Dispatcher.DispatchHandler {
  statusCode = 0;
  headers: IncomingHttpHeaders = {};
  private controller: Dispatcher.DispatchController | null = null;
  private chunks: Buffer[] = [];
  private heldBytes = 0;
  /** Reading the whole body: it is never paused, and is aborted once it holds more than this. */
  private whole = false;
  private maxWholeBytes = Number.POSITIVE_INFINITY;
  private ended = false;
  private failure: Error | null = null;
  private head: { resolve(exchange: UpstreamExchange): void; reject(err: Error): void } | null = null;
  private waiter: Waiter | null = null;
  private readonly onAbort = (): void => this.abort(abortReason(this.signal));

  private constructor(private readonly signal: CancelSignal) {}

  static send(dispatcher: Dispatcher, req: ExchangeRequest): Promise<UpstreamExchange> {
    const exchange = new UpstreamExchange(req.signal);
    return new Promise((resolve, reject) => {
      exchange.head = { resolve, reject };
      if (req.signal.aborted) {
        exchange.onResponseError(null, abortReason(req.signal));
        return;
      }
      req.signal.addEventListener('abort', exchange.onAbort, { once: true });
      dispatcher.dispatch(
        { origin: req.origin, path: req.path, method: 'POST', headers: req.headers, body: req.body },
        exchange,
      );
    });
  }

  /**
   * The whole body as text (a leading byte-order mark dropped). A body that grows past `maxBytes`
   * aborts the request and rejects with {@link UpstreamAnswerTooLarge}.
   */
  async text(maxBytes = Number.POSITIVE_INFINITY): Promise<string> {
    this.whole = true;
    this.maxWholeBytes = maxBytes;
    // An announced length past the limit is refused before any of it is read.
    const tooLarge = this.dropIfTooLarge(
      Math.max(this.heldBytes, Number(this.headers['content-length']) || 0),
    );
    if (tooLarge) throw tooLarge;
    this.controller?.resume();
    while (!this.ended) {
      if (this.failure) throw this.failure;
      await this.arrival();
    }
    const text = this.take()?.toString('utf8') ?? '';
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }

  /**
   * The body as it arrives: each read yields every chunk that arrived since the last one, joined.
   * Ending the iteration early (or `destroy`) aborts the request.
   */
  get body(): AsyncIterableIterator<Buffer> & { destroy(): void; readonly readableEnded: boolean } {
    const next = async (): Promise<IteratorResult<Buffer>> => {
      while (this.heldBytes === 0 && !this.ended && !this.failure) await this.arrival();
      const value = this.take();
      if (value) return { done: false, value };
      return { done: true, value: undefined };
    };
    const stop = async (): Promise<IteratorResult<Buffer>> => {
      this.abort(new undiciErrors.RequestAbortedError());
      return { done: true, value: undefined };
    };
    const exchange = this;
    const iterator = {
      next,
      return: stop,
      destroy: () => this.abort(new undiciErrors.RequestAbortedError()),
      /** The whole body arrived and every byte of it was read. */
      get readableEnded() {
        return exchange.ended && exchange.heldBytes === 0;
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Ends the exchange without reading the rest (the connection is closed, not reused). */
  abort(reason: Error): void {
    if (this.ended || this.failure) return;
    if (this.controller) this.controller.abort(reason);
    else this.onResponseError(null, reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // Aborted while the request waited for a connection.
    if (this.failure) controller.abort(this.failure);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    // 1xx (Continue, Early Hints) come before the real answer.
    if (statusCode < 200) return;
    this.statusCode = statusCode;
    this.headers = headers;
    const head = this.head;
    this.head = null;
    head?.resolve(this);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
    this.heldBytes += chunk.length;
    if (!this.whole) {
      if (this.heldBytes > HIGH_WATER_BYTES) controller.pause();
    } else this.dropIfTooLarge();
    this.wakeReader();
  }

  onResponseEnd(): void {
    this.ended = true;
    this.signal.removeEventListener('abort', this.onAbort);
    this.wakeReader();
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    if (this.ended || this.failure) return;
    // What arrived before the failure is still read (a stream cut off mid-way is billed for it).
    this.failure = err;
    this.signal.removeEventListener('abort', this.onAbort);
    const head = this.head;
    this.head = null;
    head?.reject(err);
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.reject(err);
  }

  /** Past the whole-body limit, what is held is dropped and the request aborted: the reader gets the failure. */
  private dropIfTooLarge(size = this.heldBytes): UpstreamAnswerTooLarge | null {
    if (size <= this.maxWholeBytes) return null;
    this.chunks = [];
    this.heldBytes = 0;
    const err = new UpstreamAnswerTooLarge(this.maxWholeBytes);
    this.abort(err);
    return err;
  }

  /** Everything held, joined; null when nothing is held. Once nothing is held, throws the exchange's failure. */
  private take(): Buffer | null {
    if (this.heldBytes === 0) {
      if (this.failure) throw this.failure;
      return null;
    }
    const chunks = this.chunks;
    const joined = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.heldBytes);
    this.chunks = [];
    this.heldBytes = 0;
    if (this.controller?.paused) this.controller.resume();
    return joined;
  }

  /** Resolves at the next chunk or the end; rejects with the exchange's failure. */
  private arrival(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  private wakeReader(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.resolve();
  }
}

const abortReason = (signal: CancelSignal): Error =>
  signal.reason instanceof Error ? signal.reason : new undiciErrors.RequestAbortedError();
