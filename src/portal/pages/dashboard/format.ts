import type { AdminResult } from '../../admin-client.js';
import { html, type SafeHtml } from '../../html.js';

/** A time from an API (Unix seconds, epoch ms or ISO text) as a Date, or null. */
export function toDate(value: unknown): Date | null {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0)
    return new Date(value < 1e12 ? value * 1000 : value);
  if (typeof value === 'string' && value !== '') {
    const asNumber = Number(value);
    if (Number.isFinite(asNumber)) return toDate(asNumber);
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  return null;
}

/** `2026-11-25 15:04` (UTC, as the captions say), inside a `<time>` element; a dash for no value. */
export function timeCell(value: unknown, empty = '—'): SafeHtml {
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

export const count = (value: unknown) =>
  typeof value === 'number' ? value.toLocaleString('en-US') : typeof value === 'string' ? value : '0';

/** The list inside a `{"data": [...]}` answer (or a bare array), defensively typed. */
export function listOf<T = Record<string, unknown>>(body: unknown): T[] {
  if (Array.isArray(body)) return body as T[];
  const data = (body as { data?: unknown } | null | undefined)?.data;
  return Array.isArray(data) ? (data as T[]) : [];
}

/** A notice in place of a section whose API failed or is not part of this build. */
export function unavailable(result: AdminResult<unknown>, what: string): SafeHtml {
  if (result.ok) return html``;
  return result.missing
    ? html`<div class="alert info" role="status" data-testid="section-unavailable">${what} is not available on this server yet.</div>`
    : html`<div class="alert error" role="alert">${what} could not be loaded: ${result.message}</div>`;
}

/** YYYY-MM-DD of a date in UTC. */
export const isoDay = (d: Date) => d.toISOString().slice(0, 10);
