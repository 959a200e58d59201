import type { z } from 'zod';
import { ApiError } from '../shared/errors.js';

/** `messages.0.role` → `messages[0].role`, the way OpenAI names parameters. */
export function paramName(path: PropertyKey[]): string | null {
  if (path.length === 0) return null;
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
}

/** The 400 for a zod issue in `body` (or query, or path parameters): what is missing or wrong, and where. */
export function describeIssue(issue: z.core.$ZodIssue, body: unknown): ApiError {
  const param = paramName(issue.path);
  const missing =
    (issue.code === 'invalid_type' || issue.code === 'invalid_union') &&
    valueAt(body, issue.path) === undefined;
  if (missing)
    return new ApiError('missing_required_parameter', `Missing required parameter: '${param}'.`, param);
  if (issue.code === 'invalid_union' && issue.path.at(-1) === 'role')
    return new ApiError('invalid_parameter', `Invalid value for '${param}': unknown role.`, param);
  return new ApiError(
    'invalid_parameter',
    `Invalid value for '${param ?? 'body'}': ${issue.message}.`,
    param,
  );
}

function valueAt(body: unknown, path: PropertyKey[]): unknown {
  let v: unknown = body;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** Parses a request body, or throws a 400 ApiError naming the first parameter at fault. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  if (body === undefined)
    throw new ApiError('invalid_json', 'The request body is empty; a JSON object was expected.');
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new ApiError('invalid_request', 'The request body must be a JSON object.');
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  throw describeIssue(result.error.issues[0]!, body);
}
