/**
 * What a cancellable operation needs of its caller's cancellation: the subset of `AbortSignal` that
 * undici (`request({ signal })`) and Node's `timers/promises` read. An `AbortSignal` is one; so are a
 * route's `ClientDisconnect` and a `TimedSignal`, which cost no AbortController or EventTarget.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * A signal that fires when its parent does or when `ms` pass, whichever comes first, until released.
 *
 * This replaces `AbortSignal.any([parent, AbortSignal.timeout(ms)])` and the AbortController behind a
 * hand-made pair on the hot path: per upstream attempt it is one object, one timer and one listener on
 * the parent, and `release()` clears the timer at once instead of leaving it for the whole timeout.
 */
export class TimedSignal implements CancelSignal {
  aborted = false;
  reason: unknown = undefined;
  /** True when the deadline fired it (not the parent). */
  timedOut = false;
  private listeners: Array<() => void> = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly onParentAbort = (): void => this.fire(this.parent.reason);

  constructor(
    private readonly parent: CancelSignal,
    ms: number,
    private readonly timeoutMessage: string,
  ) {
    if (parent.aborted) {
      this.aborted = true;
      this.reason = parent.reason ?? abortError();
      return;
    }
    parent.addEventListener('abort', this.onParentAbort, { once: true });
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.fire(new DOMException(this.timeoutMessage, 'TimeoutError'));
    }, ms);
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.aborted) this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  /** The deadline no longer applies; the parent still fires the signal. Idempotent. */
  clearTimer(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Stops the timer and unlinks from the parent; idempotent. The signal no longer fires. */
  release(): void {
    this.clearTimer();
    this.parent.removeEventListener('abort', this.onParentAbort);
  }

  private fire(reason: unknown): void {
    if (this.aborted) return;
    this.release();
    this.aborted = true;
    this.reason = reason ?? abortError();
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) listener();
  }
}

const abortError = () => new DOMException('This operation was aborted', 'AbortError');
