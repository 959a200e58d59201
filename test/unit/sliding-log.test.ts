/** The in-process sliding log: exact rolling windows, weights, and its bookkeeping. */
import { describe, expect, it } from 'vitest';
import { MemoryWindowStore } from '../../src/ratelimit/memory-window-store.js';
import { SlidingLog } from '../../src/ratelimit/sliding-log.js';

describe('sliding-window log', () => {
  it('admits at most the limit in any rolling window, freeing slots as entries age out', async () => {
    let now = 1_000_000;
    const store = new MemoryWindowStore({ windowMs: 60_000, now: () => now });
    const admit = () => store.admitNow({ key: 't', limit: 60 });
    for (let i = 0; i < 30; i++) expect(admit().allowed).toBe(true);
    now += 30_000;
    for (let i = 0; i < 30; i++) expect(admit().allowed).toBe(true);
    const full = admit();
    expect(full.allowed).toBe(false);
    // The first 30 leave the window exactly 60 s after they came.
    expect(full.requests.freeInMs).toBe(30_000);
    now += 29_999;
    expect(admit().allowed).toBe(false);
    now += 1;
    let admitted = 0;
    for (let i = 0; i < 100; i++) if (admit().allowed) admitted++;
    expect(admitted).toBe(30);
  });

  it('says when a lowered limit frees up: when enough entries have left, not just the oldest', () => {
    const log = new SlidingLog();
    for (let t = 0; t < 10; t++) log.add(t * 1000, 1);
    // Limit 5 with 10 entries: the 6th oldest (t = 5 s) must leave before a slot frees.
    expect(log.state(10_000, 60_000, 5)).toEqual({ total: 10, freeInMs: 55_000 });
    expect(log.state(10_000, 60_000, 20)).toEqual({ total: 10, freeInMs: 50_000 });
  });

  it('walks weighted entries to find when the token total drops below the limit', () => {
    const log = new SlidingLog();
    log.add(0, 400);
    log.add(10_000, 300);
    log.add(20_000, 500);
    // 1,200 used of 1,000: after the first (400) leaves, 800 < 1,000.
    expect(log.state(30_000, 60_000, 1_000)).toEqual({ total: 1_200, freeInMs: 30_000 });
    // 1,200 of 500: the first two must leave (then 500 is still not below 500), so all three.
    expect(log.state(30_000, 60_000, 500)).toEqual({ total: 1_200, freeInMs: 50_000 });
  });

  it('compacts expired entries and forgets idle keys', () => {
    const log = new SlidingLog();
    for (let t = 0; t < 5_000; t++) log.add(t, 1);
    log.expire(60_000 + 3_000, 60_000);
    expect(log.size).toBe(1_999);
    expect(log.total).toBe(1_999);
    log.expire(60_000 + 10_000, 60_000);
    expect(log.size).toBe(0);
    expect(log.newest).toBeUndefined();
  });
});
