import type { ServerResponse } from 'node:http';

/**
 * Writes one piece of a streamed response and, when the socket's buffer is full, waits until the
 * client has taken it (back-pressure), so a slow reader slows its stream instead of filling memory.
 * A client that takes nothing for `timeoutMs` is cut off: the response is destroyed, which its
 * handler sees as the client leaving (the upstream call is aborted and what was generated is
 * settled). Costs nothing while the client keeps up: the timer exists only while waiting.
 */
export async function writeOrCut(res: ServerResponse, text: string, timeoutMs: number): Promise<void> {
  if (res.destroyed) return;
  if (res.write(text)) return;
  await new Promise<void>((resolve) => {
    const stalled = setTimeout(() => res.destroy(), timeoutMs);
    const done = () => {
      clearTimeout(stalled);
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
