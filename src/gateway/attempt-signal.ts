import { type CancelSignal, TimedSignal } from '../shared/cancel-signal.js';

/**
 * The signal of one attempt on one route: it fires when the client leaves or when the provider's
 * timeout passes, and is released (timer cleared, unlinked from the client) as soon as the attempt
 * is over. undici takes it as it is, so no AbortController is made per attempt.
 */
export function attemptSignal(client: CancelSignal, timeoutMs: number): TimedSignal {
  return new TimedSignal(client, timeoutMs, 'The upstream did not answer in time.');
}

/** Wraps a stream's iterator so the attempt is released when the stream ends, fails or is closed. */
export function releasingIterator<T>(inner: AsyncIterator<T>, release: () => void): AsyncIterator<T> {
  return {
    async next() {
      try {
        const result = await inner.next();
        if (result.done) release();
        return result;
      } catch (err) {
        release();
        throw err;
      }
    },
    async return(value?: unknown) {
      release();
      return (await inner.return?.(value)) ?? { done: true, value: undefined };
    },
  };
}
