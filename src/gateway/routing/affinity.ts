import { createHash } from 'node:crypto';

/** What identifies a conversation besides its body: who asks, and the session header if any. */
export interface AffinityHints {
  tenantId: string;
  /** The client's `x-session-id` header. */
  session?: string | undefined;
}

/**
 * The conversation a request belongs to, for prompt-cache affinity: the tenant plus, in order of
 * preference, `prompt_cache_key`, the session header, `user`, or a digest of the leading messages
 * (everything up to and including the first user turn, which stays the same as a conversation grows).
 * Undefined when the request names none of them.
 */
export function conversationKey(
  modelId: string,
  body: Record<string, unknown>,
  hints: AffinityHints,
): string | undefined {
  const named =
    stringOr(body.prompt_cache_key) ??
    hints.session ??
    stringOr(body.user) ??
    stringOr(body.safety_identifier);
  if (named !== undefined) {
    // The name is the client's to choose, up to the body limit: a long one is kept as its digest, so
    // the map's size bound (entries) bounds its memory too.
    const id = named.length <= MAX_NAMED_CHARS ? `k${named}` : `h${digest(named)}`;
    return `${hints.tenantId}\u0000${modelId}\u0000${id}`;
  }
  const leading = leadingTurns(body);
  if (leading === undefined) return undefined;
  return `${hints.tenantId}\u0000${modelId}\u0000m${digest(JSON.stringify(leading))}`;
}

/** Longest conversation name kept as it is; `prompt_cache_key`s and session ids are far shorter. */
const MAX_NAMED_CHARS = 128;

const digest = (text: string): string => createHash('sha256').update(text).digest('base64url');

const stringOr = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The system prompt (any surface's name for it) and the turns up to the first user message. */
function leadingTurns(body: Record<string, unknown>): unknown[] | undefined {
  const turns = body.messages ?? body.input;
  const system = body.system ?? body.instructions;
  if (typeof turns === 'string') return [system, turns];
  if (!Array.isArray(turns) || turns.length === 0) return undefined;
  let end = 0;
  while (end < turns.length && (turns[end] as { role?: unknown } | null)?.role !== 'user') end++;
  return [system, ...turns.slice(0, end + 1)];
}

/**
 * Which route each recent conversation was served by, bounded in size and age: the oldest entries
 * go first once `maxEntries` is reached, an entry older than `ttlMs` is forgotten.
 */
export class AffinityMap {
  private readonly entries = new Map<string, { index: number; at: number }>();

  constructor(
    private readonly maxEntries = 100_000,
    private readonly ttlMs = 30 * 60_000,
  ) {}

  get(key: string, now: number): number | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (now - entry.at > this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.index;
  }

  set(key: string, index: number, now: number): void {
    const entry = this.entries.get(key);
    if (entry) {
      entry.index = index;
      entry.at = now;
      return;
    }
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { index, at: now });
  }
}
