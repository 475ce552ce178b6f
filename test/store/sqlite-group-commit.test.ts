import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGroupCommit } from '../../src/adapters/sqlite/group-commit.js';
import { LeaseLostError } from '../../src/ports/errors.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;

describe('sqlite group commit', () => {
  let db: BetterSqlite3.Database;
  beforeEach(() => {
    db = new Database(':memory:');
    db.exec('CREATE TABLE t (x INTEGER NOT NULL UNIQUE)');
  });
  afterEach(() => db.close());
  const insert = (x: number) => () => db.prepare('INSERT INTO t (x) VALUES (?)').run(x).changes;
  const rows = () => db.prepare('SELECT x FROM t ORDER BY x').pluck().all();

  it('rolls back only the failing job’s own writes, even those made before it threw', async () => {
    const writer = createGroupCommit(db, { maxJobs: 100 });
    const results = await Promise.allSettled([
      writer.run(insert(1)),
      writer.run(() => {
        insert(2)();
        insert(1)(); // UNIQUE: a driver error after a write of its own
      }),
      writer.run(() => {
        insert(3)();
        throw new LeaseLostError('7');
      }),
      writer.run(insert(4)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'BLH_ERR_STORE_WRITE', details: { sqliteCode: 'SQLITE_CONSTRAINT_UNIQUE' } });
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(LeaseLostError);
    expect(rows()).toEqual([1, 4]);
    expect(writer.stats()).toEqual({ transactions: 1, jobs: 4, largestBatch: 4, failedBatches: 0 });
  });

  it('settles callers only after the commit', async () => {
    const writer = createGroupCommit(db, { maxJobs: 100 });
    let seenInTransaction: boolean | undefined;
    await writer.run(insert(1)).then(() => {
      seenInTransaction = db.inTransaction;
    });
    expect(seenInTransaction).toBe(false);
    expect(rows()).toEqual([1]);
  });

  it('commits what is queued when drained, without waiting for the event loop', () => {
    const writer = createGroupCommit(db, { maxJobs: 2 });
    for (let i = 1; i <= 5; i++) void writer.run(insert(i));
    writer.drain();
    expect(rows()).toEqual([1, 2, 3, 4, 5]);
    expect(writer.stats()).toMatchObject({ transactions: 3, jobs: 5 });
    expect(writer.transactions).toBe(3);
  });
});
