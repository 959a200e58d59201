/**
 * The token worker: a worker thread that owns the tokenizers and counts one text at a time, within the
 * tokenizing budget each job carries (see countWithinBudget), so counting never runs on the event loop
 * that serves requests. Started and fed by TokenCounter.
 */
import { parentPort } from 'node:worker_threads';
import { countWithinBudget } from './token-pieces.js';
import { loaders, type TokenCount, type TokenizerFamily } from './tokenizers.js';

/** A text to count. */
export interface CountJob {
  id: number;
  family: TokenizerFamily;
  text: string;
  budgetMs: number;
}

export type CountResult = { id: number; tokens: number } | { id: number; error: string };

const loaded = new Map<TokenizerFamily, Promise<TokenCount>>();

function tokenizer(family: TokenizerFamily): Promise<TokenCount> {
  let p = loaded.get(family);
  if (!p) {
    p = loaders[family]();
    // A failed load is retried by the next job instead of being remembered.
    p.catch(() => loaded.delete(family));
    loaded.set(family, p);
  }
  return p;
}

parentPort?.on('message', async (job: CountJob) => {
  let result: CountResult;
  try {
    const count = await tokenizer(job.family);
    result = { id: job.id, tokens: countWithinBudget(job.text, count, job.budgetMs).tokens };
  } catch (err) {
    result = { id: job.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort?.postMessage(result);
});
