/** A calendar month in UTC, the unit of invoicing. */
export interface BillingPeriod {
  /** `YYYY-MM`. */
  id: string;
  /** Epoch ms of the first instant of the month, inclusive. */
  start: number;
  /** Epoch ms of the first instant of the next month, exclusive. */
  end: number;
}

const PERIOD_PATTERN = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** `"2026-11"` → the period, or null when malformed. */
export function parsePeriod(id: string): BillingPeriod | null {
  const m = PERIOD_PATTERN.exec(id);
  if (!m) return null;
  const year = Number(m[1]);
  const month = Number(m[2]) - 1;
  return { id, start: Date.UTC(year, month, 1), end: Date.UTC(year, month + 1, 1) };
}

/** The month containing `at`. */
export function periodAt(at: number): BillingPeriod {
  const d = new Date(at);
  const id = `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
  return parsePeriod(id)!;
}

/** The month before the one containing `at`. */
export const previousPeriod = (at: number): BillingPeriod => periodAt(periodAt(at).start - 1);
