import type { Worker } from 'node:worker_threads';
import { spawnModuleWorker } from '../shared/module-worker.js';
import { estimateTokens } from './token-estimate.js';
import type { CountJob, CountResult } from './token-worker.js';
import { familyOf, type TokenizerFamily } from './tokenizers.js';

/** Tuning of the token counter; the defaults suit production. */
export interface TokenCounterOptions {
  /** Tokenizing time one count may use in the worker before the rest of its text is extrapolated. */
  budgetMs?: number;
  /** Longest a caller waits for the worker (queue, tokenizer loading, counting). */
  timeoutMs?: number;
  /**
   * Longest text copied to the worker (UTF-16 units). Of a longer one, windows spread over it are sent,
   * and their count is scaled to the whole: the worker could not tokenize more within its budget anyway.
   */
  maxWorkerChars?: number;
  /**
   * How long the worker stays after its last count. Its tokenizers take well over 100 MB, and counts
   * are rare (a cut stream, a server without usage, a token-count request): an idle worker is ended.
   */
  idleMs?: number;
}

const DEFAULTS: Required<TokenCounterOptions> = {
  budgetMs: 25,
  timeoutMs: 2_000,
  maxWorkerChars: 256 * 1024,
  idleMs: 60_000,
};

/** Windows a text longer than `maxWorkerChars` is sampled in. */
const SAMPLE_WINDOWS = 64;

/**
 * Counts tokens when an upstream reports no usage (a cut stream, a server without usage, a client that
 * left). The real tokenizers run in a worker thread, never on the event loop, and every count is bounded
 * in time: the worker samples a text it cannot finish within its budget, and a caller that waits too
 * long (a queue of huge texts, a tokenizer still loading, a stuck worker) gets `estimateTokens` instead.
 */
export class TokenCounter {
  private readonly opts: Required<TokenCounterOptions>;

  constructor(opts: TokenCounterOptions = {}) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /** Tokens of `text` for the given public model id; rejects only when the tokenizer cannot load. */
  async count(modelId: string, text: string): Promise<number> {
    if (text.length === 0) return 0;
    const sample = text.length > this.opts.maxWorkerChars ? sampleOf(text, this.opts.maxWorkerChars) : text;
    const tokens = await tokenWorker().count(familyOf(modelId), sample, this.opts);
    if (tokens === null) return estimateTokens(text);
    return sample === text ? tokens : Math.ceil((tokens * text.length) / sample.length);
  }

  /** Whether the token worker is running (holding the memory of its tokenizers). */
  workerRunning(): boolean {
    return tokenWorker().hasWorker();
  }

  /** The tokenizer-free estimate used when counting is not possible. */
  estimate(text: string): number {
    return estimateTokens(text);
  }

  /** Loads the tokenizers the catalog needs ahead of time, so the first count is not slow. */
  async warm(modelIds: readonly string[]): Promise<void> {
    const families = [...new Set(modelIds.map(familyOf))];
    await Promise.all(families.map((f) => tokenWorker().count(f, '', this.opts)));
  }
}

/** Extra time the first count of a tokenizer family may take in a fresh worker: the tokenizer loads. */
const LOAD_ALLOWANCE_MS = 15_000;

/** About `chars` characters of `text`, in windows spread evenly over it (never splitting a surrogate pair). */
function sampleOf(text: string, chars: number): string {
  const width = Math.floor(chars / SAMPLE_WINDOWS);
  const stride = (text.length - width) / (SAMPLE_WINDOWS - 1);
  const windows: string[] = [];
  for (let w = 0; w < SAMPLE_WINDOWS; w++) {
    let from = Math.floor(w * stride);
    const code = text.charCodeAt(from);
    if (code >= 0xdc00 && code <= 0xdfff) from++;
    windows.push(text.slice(from, from + width));
  }
  return windows.join('');
}

interface Job {
  family: TokenizerFamily;
  text: string;
  budgetMs: number;
  timeoutMs: number;
  idleMs: number;
  /** Settles the caller's promise once: a count, null (too late: estimate instead) or an error. */
  finish(result: number | null | Error): void;
}

/**
 * The process's one token worker (tokenizers are large, so every container shares it). Jobs run one
 * at a time; the queue lives here, so a job whose caller stopped waiting is dropped before it starts.
 * A job that holds the worker past its timeout means a stuck tokenizer: the worker is replaced.
 */
class TokenWorkerClient {
  private worker: Worker | null = null;
  /** Tokenizers the current worker has loaded. */
  private loaded = new Set<TokenizerFamily>();
  private readonly queue: Job[] = [];
  private running: { id: number; job: Job; stall: NodeJS.Timeout } | null = null;
  private nextId = 1;
  /** Ends the worker once it has been idle for the last job's `idleMs`. */
  private retireTimer: NodeJS.Timeout | null = null;
  private idleMs = DEFAULTS.idleMs;

  hasWorker(): boolean {
    return this.worker !== null;
  }

  /** Resolves to the count, or null when it did not come in time. */
  count(
    family: TokenizerFamily,
    text: string,
    opts: Pick<Required<TokenCounterOptions>, 'budgetMs' | 'timeoutMs' | 'idleMs'>,
  ): Promise<number | null> {
    return new Promise<number | null>((resolve, reject) => {
      let done = false;
      const timeoutMs = opts.timeoutMs + (this.loaded.has(family) ? 0 : LOAD_ALLOWANCE_MS);
      const job: Job = {
        family,
        text,
        budgetMs: opts.budgetMs,
        timeoutMs,
        idleMs: opts.idleMs,
        finish: (result) => {
          if (done) return;
          done = true;
          clearTimeout(deadline);
          const queued = this.queue.indexOf(job);
          if (queued >= 0) this.queue.splice(queued, 1);
          if (result instanceof Error) reject(result);
          else resolve(result);
        },
      };
      const deadline = setTimeout(() => job.finish(null), timeoutMs);
      this.queue.push(job);
      this.startNext();
    });
  }

  private startNext(): void {
    if (this.running) return;
    const job = this.queue.shift();
    if (!job) {
      this.worker?.unref();
      if (this.worker && !this.retireTimer) {
        this.retireTimer = setTimeout(() => this.retire(), this.idleMs);
        this.retireTimer.unref();
      }
      return;
    }
    if (this.retireTimer) clearTimeout(this.retireTimer);
    this.retireTimer = null;
    this.idleMs = job.idleMs;
    const worker = this.ensureWorker();
    worker.ref();
    const id = this.nextId++;
    const stall = setTimeout(() => this.replaceWorker(null), job.timeoutMs);
    this.running = { id, job, stall };
    const message: CountJob = { id, family: job.family, text: job.text, budgetMs: job.budgetMs };
    worker.postMessage(message);
  }

  private onResult(result: CountResult): void {
    const running = this.running;
    if (!running || running.id !== result.id) return;
    clearTimeout(running.stall);
    this.running = null;
    if ('error' in result) running.job.finish(new Error(result.error));
    else {
      this.loaded.add(running.job.family);
      running.job.finish(result.tokens);
    }
    this.startNext();
  }

  /** Ends an idle worker; the next count starts another (and loads its tokenizer again). */
  private retire(): void {
    this.retireTimer = null;
    const worker = this.worker;
    if (!worker || this.running || this.queue.length > 0) return;
    this.worker = null;
    this.loaded = new Set();
    void worker.terminate();
  }

  /**
   * Drops a stuck (`crash` null) or crashed worker; its job ends (a stall as a timeout, so the caller
   * estimates; a crash as an error the caller logs) and the queue moves on with a new worker.
   */
  private replaceWorker(crash: Error | null): void {
    const worker = this.worker;
    this.worker = null;
    this.loaded = new Set();
    if (worker) void worker.terminate();
    const running = this.running;
    this.running = null;
    if (running) {
      clearTimeout(running.stall);
      running.job.finish(crash);
    }
    this.startNext();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = spawnTokenWorker();
    worker.on('message', (result: CountResult) => this.onResult(result));
    worker.on('error', (err) => {
      if (this.worker === worker) this.replaceWorker(err);
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.replaceWorker(new Error('the token worker exited'));
    });
    this.worker = worker;
    return worker;
  }
}

const spawnTokenWorker = (): Worker => spawnModuleWorker(import.meta.url, 'token-worker');

let shared: TokenWorkerClient | null = null;
const tokenWorker = () => {
  shared ??= new TokenWorkerClient();
  return shared;
};
