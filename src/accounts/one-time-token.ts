import { createHash, randomBytes } from 'node:crypto';

/** A secret for an emailed link: the link holds `token`, the database only `hash`. */
export interface OneTimeToken {
  token: string;
  hash: string;
}

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export function newOneTimeToken(): OneTimeToken {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

/** Whether a string could be one of our tokens (checked before any lookup). */
export const isWellFormedToken = (value: unknown): value is string =>
  typeof value === 'string' && /^[A-Za-z0-9_-]{43}$/.test(value);
