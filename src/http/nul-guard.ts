import { ApiError } from '../shared/errors.js';

/**
 * PostgreSQL text cannot hold NUL characters, and no legitimate field needs them, so input carrying
 * one is refused at the edge with a 400 instead of failing deep inside a query.
 */
export const nulInUrl = () =>
  new ApiError('invalid_request', 'The request URL must not contain NUL (%00) characters.');

export const nulInBody = () =>
  new ApiError('invalid_parameter', 'Strings in the request body must not contain NUL (\\u0000) characters.');

/** True when any string (or key) inside a parsed JSON value contains a NUL character. */
export function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(containsNul);
  if (value && typeof value === 'object')
    return Object.entries(value).some(([k, v]) => k.includes('\u0000') || containsNul(v));
  return false;
}
