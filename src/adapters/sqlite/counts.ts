/**
 * The counts stats() reads instead of scanning whole tables (schema step 6, table stat_counts): records by
 * verdict (`records`, verdict, ''), logged rejections (`rejections`, '', '') and outbox rows by target and
 * status for every status but pending (`outbox`, target, status). Every write that changes one of them adds
 * its change here, in its own transaction, once per call rather than once per row: a call tallies what it did
 * (Tally) and writes one statement per count it changed. So the counts are exact, for every connection and
 * process that writes the file, and cost an ingest or an ack batch one statement, not a trigger per row.
 */
import type { SqliteDatabase, SqliteStatement } from './driver.js';

export type CountKind = 'records' | 'rejections' | 'outbox';

/** One UPSERT: adds n to a count, creating it at n. Shared with the writer thread (RECORD_WRITES.addCount). */
export const ADD_COUNT = 'INSERT INTO stat_counts (kind, a, b, n) VALUES (?, ?, ?, ?) ON CONFLICT (kind, a, b) DO UPDATE SET n = n + excluded.n';

/** Changes to counts of one call, written by `write` inside its transaction. */
export class Tally {
  private readonly changes = new Map<string, { kind: CountKind; a: string; b: string; n: number }>();

  add(kind: CountKind, a: string, b: string, n = 1): this {
    const key = `${kind}\u0000${a}\u0000${b}`;
    const change = this.changes.get(key);
    if (change === undefined) this.changes.set(key, { kind, a, b, n });
    else change.n += n;
    return this;
  }

  /** An outbox row moved from one status to another (pending is not counted). */
  move(target: string, from: string, to: string, n = 1): this {
    if (from !== 'pending') this.add('outbox', target, from, -n);
    if (to !== 'pending') this.add('outbox', target, to, n);
    return this;
  }

  /** Outbox rows deleted (pending is not counted). */
  remove(target: string, status: string, n = 1): this {
    if (status !== 'pending') this.add('outbox', target, status, -n);
    return this;
  }

  write(statement: { run(...params: unknown[]): unknown }): void {
    for (const c of this.changes.values()) if (c.n !== 0) statement.run(c.kind, c.a, c.b, c.n);
    this.changes.clear();
  }
}

/** The ADD_COUNT statement on `db`, for Tally.write. */
export function addCountStatement(db: SqliteDatabase): SqliteStatement {
  return db.prepare(ADD_COUNT);
}
