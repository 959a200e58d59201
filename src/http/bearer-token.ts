import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** How an `Authorization` header compares to a configured bearer token. */
export type BearerCheck = 'missing' | 'wrong' | 'ok';

/**
 * Checks `Authorization: Bearer <token>` against a configured secret in constant time: comparing
 * digests keeps the time independent of where, and whether in length, the given token differs.
 */
export function bearerTokenCheck(expected: string): (header: unknown) => BearerCheck {
  const want = digest(expected);
  return (header) => {
    const match = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    if (!match) return 'missing';
    return timingSafeEqual(digest(match[1]!.trim()), want) ? 'ok' : 'wrong';
  };
}
