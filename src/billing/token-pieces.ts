import type { TokenCount } from './tokenizers.js';

/**
 * Longest piece of text handed to a tokenizer at once. The BPE implementations in JavaScript are
 * quadratic or worse in the length of a run without whitespace (400 rare CJK characters take ~1 s with
 * js-tiktoken); cut into short pieces, counting is linear in the text's length.
 */
export const PIECE_CHARS = 48;

const isWhitespace = (code: number) => code === 32 || (code >= 9 && code <= 13);
const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/**
 * Cuts a text into pieces of at most PIECE_CHARS, before a whitespace where there is one near the end
 * (tokenizers start words with their leading space, so the count is what the whole text gives), and
 * never inside a surrogate pair.
 */
export function splitPieces(text: string): string[] {
  const pieces: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + PIECE_CHARS);
    if (end < text.length) {
      for (let j = end; j > start + (PIECE_CHARS * 3) / 4; j--)
        if (isWhitespace(text.charCodeAt(j))) {
          end = j;
          break;
        }
      if (isHighSurrogate(text.charCodeAt(end - 1)) && end - 1 > start) end--;
    }
    pieces.push(text.slice(start, end));
    start = end;
  }
  return pieces;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** A step coprime with n near n/φ: visiting i·step mod n spreads the first visits over the whole text. */
function spreadingStep(n: number): number {
  let step = Math.max(1, Math.round(n * 0.618));
  while (n > 1 && gcd(step, n) !== 1) step++;
  return step % Math.max(1, n);
}

/**
 * Tokens of a text, counted piece by piece for at most `budgetMs` of tokenizing time. Pieces are
 * visited spread over the whole text, so when the budget runs out the ones counted are a sample of all
 * of it, and the rest is extrapolated from their tokens per character.
 */
export function countWithinBudget(
  text: string,
  count: TokenCount,
  budgetMs: number,
  now: () => number = performance.now.bind(performance),
): { tokens: number; exact: boolean } {
  const pieces = splitPieces(text);
  const step = spreadingStep(pieces.length);
  const deadline = now() + budgetMs;
  let tokens = 0;
  let chars = 0;
  for (let i = 0, k = 0; i < pieces.length; i++, k = (k + step) % pieces.length) {
    const piece = pieces[k]!;
    tokens += count(piece);
    chars += piece.length;
    if (i < pieces.length - 1 && now() > deadline)
      return { tokens: Math.ceil((tokens * text.length) / chars), exact: false };
  }
  return { tokens, exact: true };
}
