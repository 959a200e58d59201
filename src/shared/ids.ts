import { randomFillSync } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

// Cryptographic random bytes drawn in blocks: one call into the CSPRNG per 4 KiB instead of one per
// id keeps request ids cheap on the hot path. Each byte is used once.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function randomByte(): number {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  return pool[poolOffset++]!;
}

/** Random base62 string; rejection sampling keeps every character uniformly likely. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    const byte = randomByte();
    if (byte < 248) out += BASE62[byte % 62];
  }
  return out;
}

/** Encodes a non-negative integer in base62, left-padded to `width`. */
export function toBase62(value: number, width: number): string {
  let v = Math.floor(value);
  let out = '';
  do {
    out = BASE62[v % 62] + out;
    v = Math.floor(v / 62);
  } while (v > 0);
  return out.padStart(width, '0');
}

/** Opaque public identifiers such as `ten_3xY…`, `key_…`, `evt_…`. */
export const newId = (prefix: string) => `${prefix}_${randomBase62(20)}`;

/** Characters of a request id's time prefix: base62 milliseconds, enough until the year 8888. */
const TIME_CHARS = 8;
/** Random characters after it (~83 bits): ids of one millisecond stay unguessable and unique. */
const REQUEST_RANDOM_CHARS = 14;

/**
 * Public request ids, `req_` + 22 base62 characters: the creation time in milliseconds, then randomness.
 * Base62 digits sort in ASCII order, so ids sort by time and each new usage record (and its ledger key)
 * lands at the right edge of the unique index instead of on a random page of a table that keeps growing.
 */
export const newRequestId = (now = Date.now()) =>
  `req_${toBase62(now, TIME_CHARS)}${randomBase62(REQUEST_RANDOM_CHARS)}`;
