import { describe, expect, it } from 'vitest';
import { costMicros, formatMicros, parseUsdToMicros } from '../../src/billing/money.js';
import { parsePeriod, periodAt, previousPeriod } from '../../src/billing/periods.js';
import { crossedThresholds } from '../../src/billing/thresholds.js';

describe('money', () => {
  it('computes cost exactly in integers and rounds once, half up', () => {
    expect(costMicros(3, 7, 3, 15.5)).toBe(118); // 117.5
    expect(costMicros(1, 0, 0.05, 0.25)).toBe(0); // 0.05
    expect(costMicros(10, 0, 0.05, 0)).toBe(1); // 0.5 → 1
    // 0.1 + 0.2 style prices stay exact: 3 × 0.15 = 0.45, not 0.4499999…
    expect(costMicros(3_000_000, 0, 0.15, 0)).toBe(450_000);
    expect(costMicros(1_000_000, 1_000_000, 0.05, 0.25)).toBe(300_000);
    expect(costMicros(-5, Number.NaN, 1, 1)).toBe(0);
  });

  it('parses USD amounts exactly and refuses the rest', () => {
    expect(parseUsdToMicros('0.1')).toBe(100_000);
    expect(parseUsdToMicros('5')).toBe(5_000_000);
    expect(parseUsdToMicros(2.5)).toBe(2_500_000);
    expect(parseUsdToMicros('-1.000001')).toBe(-1_000_001);
    for (const bad of ['', 'abc', '1.0000001', '1e3', '  ', '0x10', Number.POSITIVE_INFINITY])
      expect(parseUsdToMicros(bad)).toBeNull();
  });

  it('formats micro-dollars as decimal strings', () => {
    expect(formatMicros(4_999_875)).toBe('4.999875');
    expect(formatMicros(-118)).toBe('-0.000118');
    expect(formatMicros(0)).toBe('0.000000');
  });
});

describe('usage thresholds', () => {
  const T = [0.5, 0.8, 1];
  it('fires the thresholds a debit crosses, once', () => {
    expect(crossedThresholds(T, 1000, 400, 600, [])).toEqual([0.5]);
    expect(crossedThresholds(T, 1000, 400, 1200, [])).toEqual([0.5, 0.8, 1]);
    expect(crossedThresholds(T, 1000, 400, 600, [0.5])).toEqual([]);
    expect(crossedThresholds(T, 1000, 500, 600, [])).toEqual([]); // already at 50% before
    expect(crossedThresholds(T, 0, 0, 600, [])).toEqual([]);
  });
});

describe('billing periods', () => {
  it('are UTC calendar months', () => {
    expect(parsePeriod('2026-02')).toEqual({
      id: '2026-02',
      start: Date.UTC(2026, 1, 1),
      end: Date.UTC(2026, 2, 1),
    });
    expect(parsePeriod('2026-13')).toBeNull();
    expect(periodAt(Date.UTC(2026, 11, 31, 23, 59)).id).toBe('2026-12');
    expect(previousPeriod(Date.UTC(2027, 0, 1, 0, 5)).id).toBe('2026-12');
  });
});
