/**
 * Requests and notes between the primary and a serving worker over the cluster IPC pipe (advanced
 * serialization: bigints and Maps cross as they are). Frames sent in one turn of the event loop go
 * out as one message, so a busy worker pays one pipe write per turn, not one per request.
 */

/** What the pipe of one side looks like (`process` in a worker, a cluster `Worker` in the primary). */
export interface Pipe {
  send(message: unknown): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

type Frame =
  | { t: 'req'; id: number; kind: string; body: unknown }
  | { t: 'res'; id: number; body: unknown }
  | { t: 'err'; id: number; message: string; code?: string }
  | { t: 'note'; kind: string; body: unknown };

interface Envelope {
  simo: Frame[];
}

const isEnvelope = (m: unknown): m is Envelope =>
  typeof m === 'object' && m !== null && Array.isArray((m as Partial<Envelope>).simo);

/** A failure the other side reported: its message, and its ApiError code when it was one. */
export class RemoteError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

type Handler = (body: never) => unknown;

export class Channel {
  private outbox: Frame[] = [];
  private scheduled = false;
  private nextId = 1;
  private closed: Error | null = null;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly handlers = new Map<string, Handler>();

  constructor(private readonly pipe: Pipe) {
    pipe.on('message', (m) => {
      if (isEnvelope(m)) for (const frame of m.simo) this.receive(frame);
    });
  }

  /** Asks the other side; resolves with what its handler returned. */
  request<T>(kind: string, body: unknown): Promise<T> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.push({ t: 'req', id, kind, body });
    });
  }

  /** Tells the other side something that needs no answer; notes and requests arrive in order. */
  notify(kind: string, body: unknown): void {
    if (!this.closed) this.push({ t: 'note', kind, body });
  }

  /** Answers requests (and takes notes) of `kind`; a thrown error goes back to the requester. */
  handle<B>(kind: string, handler: (body: B) => unknown): void {
    this.handlers.set(kind, handler as Handler);
  }

  /** The other side is gone: what it still owed fails with `reason`. */
  close(reason: Error): void {
    if (this.closed) return;
    this.closed = reason;
    for (const w of this.waiting.values()) w.reject(reason);
    this.waiting.clear();
    this.outbox = [];
  }

  private push(frame: Frame): void {
    this.outbox.push(frame);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.outbox.length === 0 || this.closed) return;
    const frames = this.outbox;
    this.outbox = [];
    try {
      this.pipe.send({ simo: frames } satisfies Envelope);
    } catch (err) {
      this.close(err as Error);
    }
  }

  private receive(frame: Frame): void {
    if (frame.t === 'res' || frame.t === 'err') {
      const w = this.waiting.get(frame.id);
      if (!w) return;
      this.waiting.delete(frame.id);
      if (frame.t === 'res') w.resolve(frame.body);
      else w.reject(new RemoteError(frame.message, frame.code));
      return;
    }
    const handler = this.handlers.get(frame.kind);
    if (frame.t === 'note') {
      handler?.(frame.body as never);
      return;
    }
    const { id } = frame;
    const fail = (err: unknown) => {
      const code = (err as { code?: unknown }).code;
      this.push({
        t: 'err',
        id,
        message: err instanceof Error ? err.message : String(err),
        ...(typeof code === 'string' ? { code } : {}),
      });
    };
    if (!handler) {
      fail(new Error(`no handler for ${frame.kind}`));
      return;
    }
    try {
      const out = handler(frame.body as never);
      if (out instanceof Promise) out.then((body) => this.push({ t: 'res', id, body }), fail);
      else this.push({ t: 'res', id, body: out });
    } catch (err) {
      fail(err);
    }
  }
}
