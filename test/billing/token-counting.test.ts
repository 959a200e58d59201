/** Token counting off the event loop: linear-time pieces, a budget with sampling, a deadline, a fallback. */
import { describe, expect, it } from 'vitest';
import { TokenCounter } from '../../src/billing/token-counter.js';
import { estimateTokens } from '../../src/billing/token-estimate.js';
import { countWithinBudget, PIECE_CHARS, splitPieces } from '../../src/billing/token-pieces.js';

const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i % 17}`).join(' ');

describe('pieces', () => {
  it('cover the text, stay short, cut before whitespace and never inside a surrogate pair', () => {
    for (const text of [words(500), 'a'.repeat(1000), '😀'.repeat(300), `x${'😀'.repeat(100)}`, '']) {
      const pieces = splitPieces(text);
      expect(pieces.join('')).toBe(text);
      for (const [i, p] of pieces.entries()) {
        expect(p.length).toBeGreaterThan(0);
        expect(p.length).toBeLessThanOrEqual(PIECE_CHARS);
        expect(/^[\uDC00-\uDFFF]/.test(p)).toBe(false);
        if (i > 0 && text.startsWith('word')) expect(p.startsWith(' ')).toBe(true);
      }
    }
  });

  it('count exactly within the budget, and extrapolate from a spread sample past it', () => {
    const count = (s: string) => s.split(/(?=\s)/).length; // a toy tokenizer: one token per word
    const text = words(2000);
    expect(countWithinBudget(text, count, 1e9)).toEqual({ tokens: count(text), exact: true });
    // A clock that runs out after a few pieces: the sample still represents the whole text.
    let tick = 0;
    const sampled = countWithinBudget(text, count, 10, () => (tick += 1));
    expect(sampled.exact).toBe(false);
    expect(sampled.tokens / count(text)).toBeGreaterThan(0.8);
    expect(sampled.tokens / count(text)).toBeLessThan(1.25);
  });
});

describe('tokenizer-free estimate', () => {
  it('grows with the text and looks at a bounded part of it', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('hello world')).toBeGreaterThan(0);
    const huge = words(2_000_000);
    const started = performance.now();
    const n = estimateTokens(huge);
    expect(performance.now() - started).toBeLessThan(50);
    // Real tokenizers make ~2.3 tokens of each "wordN " here; the estimate leans high, never far below.
    expect(n / (2_000_000 * 2.3)).toBeGreaterThan(0.7);
    expect(n / (2_000_000 * 2.3)).toBeLessThan(2.5);
    expect(estimateTokens('日本語のテキスト'.repeat(1000))).toBeGreaterThanOrEqual(8000);
  });
});

describe('token counter', () => {
  it('counts with the real tokenizers in a worker, bounded in time however long the text', async () => {
    const counter = new TokenCounter();
    expect(await counter.count('qwen/qwen3-8b', 'one two three')).toBe(3);
    expect(await counter.count('openai/gpt-oss-20b', 'one two three')).toBe(3);
    // 3 MB of one character: ~375,000 tokens for both tokenizers, counted from a sample.
    const started = performance.now();
    const run = await counter.count('openai/gpt-oss-20b', 'a'.repeat(3_000_000));
    expect(performance.now() - started).toBeLessThan(2_500);
    expect(run).toBeGreaterThan(340_000);
    expect(run).toBeLessThan(410_000);
  });

  it('falls back to the estimate when the worker cannot answer in time', async () => {
    // A deadline no count can meet once the tokenizer is loaded.
    const warm = new TokenCounter();
    await warm.warm(['qwen/qwen3-8b']);
    const hurried = new TokenCounter({ timeoutMs: 0 });
    const text = words(5_000);
    expect(await hurried.count('qwen/qwen3-8b', text)).toBe(estimateTokens(text));
  });

  it('ends an idle worker, freeing its tokenizers, and starts another for the next count', async () => {
    const counter = new TokenCounter({ idleMs: 150 });
    expect(await counter.count('qwen/qwen3-8b', 'one two three')).toBe(3);
    expect(counter.workerRunning()).toBe(true);
    await expect.poll(() => counter.workerRunning(), { timeout: 3_000 }).toBe(false);
    expect(await counter.count('qwen/qwen3-8b', 'one two three four')).toBe(4);
    expect(counter.workerRunning()).toBe(true);
  });

  it('keeps a worker that is counting past its idle time', async () => {
    const texts = Array.from({ length: 20 }, (_, i) => words(2_000 + i));
    // Budgets no busy machine can run out of, so every count is exact.
    const patient = { budgetMs: 60_000, timeoutMs: 60_000 };
    const exact: number[] = [];
    for (const text of texts) exact.push(await new TokenCounter(patient).count('openai/gpt-oss-20b', text));
    const counter = new TokenCounter({ ...patient, idleMs: 1 });
    // Queued back to back, so the worker is never idle between them: every count is exact, none estimated.
    expect(await Promise.all(texts.map((t) => counter.count('openai/gpt-oss-20b', t)))).toEqual(exact);
    await expect.poll(() => counter.workerRunning(), { timeout: 3_000 }).toBe(false);
  });
});
