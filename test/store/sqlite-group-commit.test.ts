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

  it('a job alone in its transaction (no savepoint) is rolled back whole when it throws, and tells its own error', async () => {
    const writer = createGroupCommit(db, { maxJobs: 100 });
    const failed = await writer
      .run(() => {
        insert(5)();
        insert(6)();
        insert(5)(); // UNIQUE, after two writes of its own
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failed).toMatchObject({ code: 'BLH_ERR_STORE_WRITE', details: { sqliteCode: 'SQLITE_CONSTRAINT_UNIQUE' } });
    expect((failed as Error).message).toMatch(/^A write failed and was rolled back/);
    await expect(
      writer.run(() => {
        insert(7)();
        throw new LeaseLostError('7');
      }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect(db.inTransaction).toBe(false);
    expect(rows()).toEqual([]);
    await expect(writer.run(insert(8))).resolves.toBe(1);
    expect(rows()).toEqual([8]);
    expect(writer.stats()).toEqual({ transactions: 3, jobs: 3, largestBatch: 1, failedBatches: 0 });
  });

  it('a job alone whose COMMIT fails is rejected as a failed batch, and nothing of it stays', async () => {
    // A deferred foreign key is checked at COMMIT: the job itself succeeds, the commit refuses it.
    db.exec('PRAGMA foreign_keys = ON; CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (p INTEGER REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED)');
    const writer = createGroupCommit(db, { maxJobs: 100 });
    const failed = await writer.run(() => db.prepare('INSERT INTO c (p) VALUES (42)').run().changes).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failed).toMatchObject({ code: 'BLH_ERR_STORE_WRITE', details: { sqliteCode: 'SQLITE_CONSTRAINT_FOREIGNKEY' } });
    expect((failed as Error).message).toMatch(/^A write transaction of 1 call\(s\) failed; none of them was committed/);
    expect(db.inTransaction).toBe(false);
    expect(db.prepare('SELECT count(*) FROM c').pluck().get()).toBe(0);
    expect(writer.stats()).toMatchObject({ transactions: 1, failedBatches: 1 });
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
