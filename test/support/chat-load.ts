/**
 * Steady chat-completion load over real HTTP for crash tests: a few workers send requests one after
 * another to the servers still listed, and remember which server answered each 200 (by request id).
 */

export interface ChatLoad {
  /** Request id → URL of the server that answered it 200. */
  ok: Map<string, string>;
  /** Answers 200 so far from one server. */
  okFrom(url: string): string[];
  /** Resolves once `n` requests were answered 200 (rejects after `timeoutMs`). */
  reach(n: number, timeoutMs?: number): Promise<void>;
  /** Lets the requests in flight finish; rejects when one is still unanswered after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

export interface ChatLoadOptions {
  /** Servers to send to, read before every request, so a test can drop one it killed. */
  targets: () => readonly string[];
  apiKey: string;
  body: unknown;
  workers: number;
}

export function startChatLoad(opts: ChatLoadOptions): ChatLoad {
  const ok = new Map<string, string>();
  let stopped = false;
  let turn = 0;
  const worker = async () => {
    while (!stopped) {
      const targets = opts.targets();
      const url = targets[turn++ % targets.length];
      if (!url) return;
      try {
        const res = await fetch(`${url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${opts.apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify(opts.body),
        });
        await res.arrayBuffer();
        if (res.status === 200) ok.set(res.headers.get('x-request-id')!, url);
      } catch {
        // A killed server refuses or drops the connection; a real client would retry elsewhere.
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };
  const running = Promise.all(Array.from({ length: opts.workers }, worker));
  return {
    ok,
    okFrom: (url) => [...ok].filter(([, u]) => u === url).map(([id]) => id),
    async reach(n, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (ok.size < n) {
        if (Date.now() > deadline) throw new Error(`only ${ok.size} of ${n} requests answered in time`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async stop(timeoutMs = 20_000) {
      stopped = true;
      // A server must answer or drop every connection: one held open without an answer would
      // otherwise show up only as the test's own timeout.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`a request was still unanswered ${timeoutMs} ms after the load stopped`)),
          timeoutMs,
        );
      });
      try {
        await Promise.race([running, late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
