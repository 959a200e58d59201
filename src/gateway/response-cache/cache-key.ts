import { createHash } from 'node:crypto';

/**
 * Request fields that never change what a model answers: how the answer is delivered, who the end
 * user is, bookkeeping for the client or the upstream's own prompt cache.
 */
const IGNORED_FIELDS = new Set([
  'stream',
  'stream_options',
  'user',
  'safety_identifier',
  'metadata',
  'store',
  'prompt_cache_key',
]);

/** JSON with object keys sorted at every level, so equal requests serialise to equal text. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
}

/**
 * The cache key of a request: a SHA-256 of the tenant, the public model, whether it streams (a stream
 * is replayed event by event, a JSON answer whole) and the request's output-relevant fields. Only the
 * hash is ever stored, never the prompt; the tenant in it keeps tenants' answers apart.
 */
export function responseCacheKey(
  tenantId: string,
  modelId: string,
  streamed: boolean,
  body: Record<string, unknown>,
): string {
  const relevant: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) if (!IGNORED_FIELDS.has(k)) relevant[k] = v;
  return createHash('sha256')
    .update(`v1\0${tenantId}\0${modelId}\0${streamed ? 'stream' : 'json'}\0`)
    .update(stableJson(relevant))
    .digest('hex');
}

/** A request whose answer should not vary between calls: temperature 0 or a fixed seed. */
export function isDeterministic(body: { temperature?: number | null; seed?: number | null }): boolean {
  return body.temperature === 0 || typeof body.seed === 'number';
}
