/** The largest multi-row statement: 256 rows × 16 columns stays far below both databases' parameter limits. */
export const MAX_ROWS_PER_STATEMENT = 256;

/**
 * Splits rows into multi-row statements whose sizes are powers of two (256, then 128, 64, … 1 for the
 * rest), so a batch of any size is written with a handful of distinct SQL texts that the SQLite
 * statement cache can keep prepared, instead of one new text (parsed and planned anew) per batch.
 */
export function* statementChunks<T>(rows: readonly T[], max = MAX_ROWS_PER_STATEMENT): Generator<T[]> {
  let i = 0;
  for (let size = max; size >= 1; size >>= 1) {
    while (rows.length - i >= size) {
      yield rows.slice(i, i + size);
      i += size;
      // Only the largest size repeats; each smaller one is needed at most once for the remainder.
      if (size !== max) break;
    }
  }
}
