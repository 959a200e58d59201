import { describe, expect, it } from 'vitest';
import { TimedSignal } from './cancel-signal.js';

/** A parent that fires when told, like a route's ClientDisconnect. */
function parentSignal() {
  const listeners = new Set<() => void>();
  return {
    aborted: false,
    reason: undefined as unknown,
    addEventListener: (_: 'abort', l: () => void) => void listeners.add(l),
    removeEventListener: (_: 'abort', l: () => void) => void listeners.delete(l),
    listeners,
    abort(reason: unknown) {
      this.aborted = true;
      this.reason = reason;
      for (const l of [...listeners]) l();
    },
  };
}

describe('TimedSignal', () => {
  it('fires with the parent and its reason', () => {
    const parent = parentSignal();
    const signal = new TimedSignal(parent, 10_000, 'late');
    let fired = 0;
    signal.addEventListener('abort', () => fired++);
    parent.abort(new Error('client disconnected'));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('client disconnected');
    expect(signal.timedOut).toBe(false);
    expect(fired).toBe(1);
    expect(parent.listeners.size).toBe(0);
  });

  it('fires at its deadline with a TimeoutError', async () => {
    const signal = new TimedSignal(parentSignal(), 5, 'late');
    await new Promise((resolve) => signal.addEventListener('abort', () => resolve(undefined)));
    expect(signal.timedOut).toBe(true);
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
    expect((signal.reason as DOMException).message).toBe('late');
  });

  it('starts aborted under an aborted parent', () => {
    const parent = parentSignal();
    parent.abort('gone');
    const signal = new TimedSignal(parent, 10_000, 'late');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('gone');
  });

  it('no longer fires once released, and unlinks from the parent', async () => {
    const parent = parentSignal();
    const signal = new TimedSignal(parent, 5, 'late');
    signal.release();
    expect(parent.listeners.size).toBe(0);
    parent.abort('gone');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(signal.aborted).toBe(false);
  });

  it('keeps following the parent after clearTimer', async () => {
    const parent = parentSignal();
    const signal = new TimedSignal(parent, 5, 'late');
    signal.clearTimer();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(signal.aborted).toBe(false);
    parent.abort('gone');
    expect(signal.reason).toBe('gone');
  });
});
