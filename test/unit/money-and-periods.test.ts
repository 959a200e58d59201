import { describe, expect, it } from 'vitest';
import { parsePeriod, periodAt, previousPeriod } from '../../src/billing/periods.js';
import { crossedThresholds } from '../../src/billing/thresholds.js';
import {
  apportionMicros,
  costPicos,
  floorToMicros,
  formatMicros,
  moneyOf,
  parseUsdToMicros,
  picosOf,
  roundToMicros,
} from '../../src/shared/money.js';

describe('money', () => {
  it('computes cost exactly in pico-dollars, without rounding', () => {
    expect(costPicos(3, 7, 3, 15.5)).toBe(117_500_000n); // 117.5 µ$
    expect(costPicos(1, 0, 0.05, 0.25)).toBe(50_000n); // 0.05 µ$
    expect(costPicos(8, 0, 0.02, 0)).toBe(160_000n); // a cheap model's tiny request is not free
    // 0.1 + 0.2 style prices stay exact: 3 × 0.15 = 0.45, not 0.4499999…
    expect(costPicos(3_000_000, 0, 0.15, 0)).toBe(450_000_000_000n);
    expect(costPicos(1_000_000, 1_000_000, 0.05, 0.25)).toBe(300_000_000_000n);
    expect(costPicos(-5, Number.NaN, 1, 1)).toBe(0n);
  });

  it('splits exact amounts into stored parts and rounds only for display', () => {
    expect(moneyOf(117_500_000n)).toEqual({ micros: 117, picos: 500_000 });
    expect(moneyOf(-117_500_000n)).toEqual({ micros: -117, picos: -500_000 });
    expect(picosOf(117, 500_000)).toBe(117_500_000n);
    expect(picosOf('9007199254740993', '999999')).toBe(9_007_199_254_740_993_999_999n);
    expect(roundToMicros(117_500_000n)).toBe(118);
    expect(roundToMicros(117_499_999n)).toBe(117);
    expect(roundToMicros(-117_500_000n)).toBe(-118);
    expect(floorToMicros(117_999_999n)).toBe(117);
    expect(floorToMicros(-1n)).toBe(-1);
  });

  it('apportions rounding so that lines add up to their rounded total, each within a micro-dollar', () => {
    const lines = [400_000n, 400_000n, 400_000n, 2_700_000n];
    const rounded = apportionMicros(lines);
    expect(rounded.reduce((s, x) => s + x, 0)).toBe(roundToMicros(3_900_000n));
    for (const [i, x] of rounded.entries()) expect(Math.abs(x * 1e6 - Number(lines[i]))).toBeLessThan(1e6);
    expect(apportionMicros([])).toEqual([]);
    expect(apportionMicros([5_000_000n, 0n])).toEqual([5, 0]);
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
