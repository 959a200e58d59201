import { createHash, timingSafeEqual } from 'node:crypto';
import { randomBase62, toBase62 } from '../shared/ids.js';

/**
 * API keys look like `sk-simo-<32 base62 chars><6 char checksum>`: ~190 bits of randomness, and a
 * CRC32 checksum so secret scanners (and we) can tell a real key from a typo without a database hit.
 */
export const API_KEY_PREFIX = 'sk-simo-';
const SECRET_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
const KEY_PATTERN = /^sk-simo-[0-9A-Za-z]{38}$/;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of Buffer.from(text, 'utf8')) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const checksumOf = (secret: string) => toBase62(crc32(secret), CHECKSUM_LENGTH);

export interface GeneratedApiKey {
  /** The full key: shown to its owner once, never stored. */
  key: string;
  /** SHA-256 hex of the key: what the database keeps. */
  hash: string;
  /** Shown in listings so owners can tell keys apart. */
  prefix: string;
  last4: string;
}

export function generateApiKey(): GeneratedApiKey {
  const secret = randomBase62(SECRET_LENGTH);
  const key = `${API_KEY_PREFIX}${secret}${checksumOf(secret)}`;
  return {
    key,
    hash: hashApiKey(key),
    prefix: key.slice(0, API_KEY_PREFIX.length + 4),
    last4: key.slice(-4),
  };
}

/** True when the string has the shape and a valid checksum of a key we issued. */
export function isWellFormedApiKey(candidate: string): boolean {
  if (!KEY_PATTERN.test(candidate)) return false;
  const secret = candidate.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + SECRET_LENGTH);
  const given = Buffer.from(candidate.slice(-CHECKSUM_LENGTH));
  return timingSafeEqual(given, Buffer.from(checksumOf(secret)));
}

// Keys carry ~190 bits of entropy, so a fast hash is enough; a slow KDF would only cost latency.
export const hashApiKey = (key: string) => createHash('sha256').update(key).digest('hex');

/** Constant-time comparison of two hex digests. */
export function sameHash(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'hex');
  const bb = Buffer.from(b, 'hex');
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}
