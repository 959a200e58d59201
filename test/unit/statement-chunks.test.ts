import { describe, expect, it } from 'vitest';
import { statementChunks } from '../../src/storage/statement-chunks.js';

describe('statementChunks', () => {
  it('covers every row once, in order, with power-of-two sizes up to the maximum', () => {
    for (const n of [0, 1, 3, 255, 256, 257, 300, 513, 1000]) {
      const rows = Array.from({ length: n }, (_, i) => i);
      const chunks = [...statementChunks(rows)];
      expect(chunks.flat()).toEqual(rows);
      for (const c of chunks) expect(Number.isInteger(Math.log2(c.length)) && c.length <= 256).toBe(true);
    }
    expect([...statementChunks(Array.from({ length: 300 }, (_, i) => i))].map((c) => c.length)).toEqual([
      256, 32, 8, 4,
    ]);
  });
});
