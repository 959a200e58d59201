import { html, type SafeHtml } from '../../html.js';
import type { Section } from './context.js';

/** A time as the API views carry it (Unix seconds, or epoch ms for delivery attempts) as a Date. */
export function toDate(value: number | null | undefined): Date | null {
  if (value === null || value === undefined || !Number.isFinite(value) || value <= 0) return null;
  return new Date(value < 1e12 ? value * 1000 : value);
}

/** `2026-11-25 15:04` (UTC, as the captions say), inside a `<time>` element; a dash for no value. */
export function timeCell(value: number | null | undefined, empty = '—'): SafeHtml {
  const d = toDate(value);
  if (!d) return html`<span class="muted">${empty}</span>`;
  const iso = d.toISOString();
  return html`<time datetime="${iso}" title="${iso}">${iso.slice(0, 16).replace('T', ' ')}</time>`;
}

/** `$4.99`: API amounts are decimal strings or numbers of USD; cents unless smaller amounts matter. */
export function usd(value: unknown): string {
  const n = typeof value === 'string' ? Number(value) : typeof value === 'number' ? value : Number.NaN;
  if (!Number.isFinite(n)) return '—';
  // Whole cents read as money; sub-cent amounts (per-token billing) keep their precision, so a
  // balance of 4.999980 is not rounded up to a misleading $5.00.
  const digits = Math.abs(Math.round(n * 100) - n * 100) > 1e-6 ? 6 : 2;
  return `${n < 0 ? '-' : ''}$${Math.abs(n).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: digits })}`;
}

export const count = (value: number) => value.toLocaleString('en-US');

/** A notice in place of a section that could not be read. */
export function unavailable(section: Section<unknown>, what: string): SafeHtml {
  if (section.ok) return html``;
  return html`<div class="alert error" role="alert">${what} could not be loaded: ${section.message}</div>`;
}

/** YYYY-MM-DD of a date in UTC. */
export const isoDay = (d: Date) => d.toISOString().slice(0, 10);
