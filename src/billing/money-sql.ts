import { type Expression, sql } from 'kysely';
import { PICOS_PER_MICRO } from '../shared/money.js';

/**
 * `stored + added` for a pair of micro/pico columns in an upsert, carrying whole micro-dollars out of the
 * pico part so it stays below one micro-dollar. Both parts must be ≥ 0 (integer division then floors).
 */
export function addMoneyColumns(
  micros: { stored: Expression<number>; added: Expression<number> },
  picos: { stored: Expression<number>; added: Expression<number> },
) {
  const picoSum = sql<number>`(${picos.stored} + ${picos.added})`;
  return {
    micros: sql<number>`${micros.stored} + ${micros.added} + ${picoSum} / ${sql.lit(PICOS_PER_MICRO)}`,
    picos: sql<number>`${picoSum} % ${sql.lit(PICOS_PER_MICRO)}`,
  };
}
