import SQLite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { withStatementCache } from '../../src/storage/sqlite-statement-cache.js';

describe('SQLite prepared-statement cache', () => {
  const open: SQLite.Database[] = [];
  const fresh = () => {
    const db = new SQLite(':memory:');
    db.exec('create table t (n integer)');
    db.exec('insert into t values (1), (2), (3)');
    open.push(db);
    return db;
  };
  afterEach(() => {
    for (const db of open.splice(0)) if (db.open) db.close();
  });

  it('reuses a statement for the same SQL and keeps results right', () => {
    const cached = withStatementCache(fresh());
    const a = cached.prepare('select n from t where n > ?');
    expect(cached.prepare('select n from t where n > ?')).toBe(a);
    expect(a.all([1])).toEqual([{ n: 2 }, { n: 3 }]);
    expect(cached.prepare('select n from t where n > ?').all([2])).toEqual([{ n: 3 }]);
  });

  it('hands out a fresh statement while the cached one is still being iterated', () => {
    const cached = withStatementCache(fresh());
    const iter = cached.prepare('select n from t').iterate([]);
    iter.next();
    const other = cached.prepare('select n from t');
    expect(other.all([])).toHaveLength(3);
    expect([...iter]).toHaveLength(2);
  });

  it('drops the least recently used statement beyond its capacity', () => {
    const cached = withStatementCache(fresh(), 2);
    const one = cached.prepare('select 1');
    const two = cached.prepare('select 2');
    expect(cached.prepare('select 1')).toBe(one);
    cached.prepare('select 3');
    expect(cached.prepare('select 1')).toBe(one);
    expect(cached.prepare('select 2')).not.toBe(two);
  });

  it('sees schema changes made after a statement was cached', () => {
    const cached = withStatementCache(fresh());
    expect(cached.prepare('select * from t').all([])[0]).toEqual({ n: 1 });
    cached.prepare('alter table t add column m integer default 7').run([]);
    expect(cached.prepare('select * from t').all([])[0]).toEqual({ n: 1, m: 7 });
  });
});
