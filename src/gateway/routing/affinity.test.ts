import { describe, expect, it } from 'vitest';
import { conversationKey } from './affinity.js';

const hints = { tenantId: 't1' };

describe('conversationKey', () => {
  it('keeps a short name as it is', () => {
    expect(conversationKey('m', { prompt_cache_key: 'session-42' }, hints)).toBe(
      't1\u0000m\u0000ksession-42',
    );
  });

  it('bounds the key of a long name, and keeps names apart', () => {
    const long = 'x'.repeat(1_000_000);
    const key = conversationKey('m', { user: long }, hints);
    expect(key).toBeDefined();
    expect(key!.length).toBeLessThan(100);
    expect(conversationKey('m', { user: long }, hints)).toBe(key);
    expect(conversationKey('m', { user: `${long}y` }, hints)).not.toBe(key);
    expect(conversationKey('m', { user: long }, { tenantId: 't2' })).not.toBe(key);
  });

  it('does not confuse a long name with a short one that looks like its digest', () => {
    const long = conversationKey('m', { user: 'z'.repeat(200) }, hints)!;
    const digestPart = long.split('\u0000')[2]!.slice(1);
    expect(conversationKey('m', { user: digestPart }, hints)).not.toBe(long);
  });
});
