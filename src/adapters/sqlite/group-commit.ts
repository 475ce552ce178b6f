/**
 * Group commit: every write of the SQLite store's main connection is a job queued here, and all jobs
 * queued before the next turn of the event loop are committed in one IMMEDIATE transaction (records and
 * rejections of a store in a file take the same road on a thread of their own: writer-thread.ts). With
 * synchronous=FULL each commit costs an fsync, so one transaction per request caps a server at a few
 * thousand records/s; a batch pays one fsync for all of its callers. Under load batches grow on their
 * own: while one commit blocks the loop, requests pile up and all go into the next one.
 *
 * Each job runs inside its own SAVEPOINT and each caller's promise settles only after the COMMIT, so:
 * - a job that throws (a lease lost, a row not found, a constraint of its own) is rolled back to its
 *   savepoint and only its caller is rejected; the others commit;
 * - an error that makes SQLite abandon the whole transaction (disk full, I/O error, out of memory), a
 *   BEGIN that cannot get the write lock within busy_timeout, or a failed COMMIT rejects every caller of
 *   the batch with BLH_ERR_STORE_WRITE. Nothing of that batch was committed, so retrying is safe, and
 *   for ingest it stays safe even if the COMMIT did reach the disk: the retry answers `duplicate`.
 * Input is checked before a job is queued (src/ports/*-input.ts), so a malformed call never gets this far.
 */
import { BilhetagemError } from '../../errors.js';
import { StoreWriteError } from '../../ports/errors.js';
import type { SqliteDatabase } from './driver.js';

interface Job {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Result = { ok: true; value: unknown } | { ok: false; error: unknown };

export interface GroupCommitStats {
  /** Transactions begun for queued jobs (committed or not). */
  transactions: number;
  jobs: number;
  largestBatch: number;
  /** Transactions that failed as a whole, rejecting all of their jobs. */
  failedBatches: number;
}

export interface GroupCommit {
  /** Runs `work` (synchronous, it must not await) in the next batch; resolves after the batch commits. */
  run<T>(work: () => T): Promise<T>;
  /** Commits everything queued, now, before the database is closed. */
  drain(): void;
  /** Transactions begun so far: `stats().transactions` without the copy, for a check on every request. */
  readonly transactions: number;
  stats(): GroupCommitStats;
}

/**
 * Another writer of this process, on its own connection (writer-thread.ts). A batch here waits while
 * that writer has one in flight, instead of blocking the loop in SQLite's busy handler until its lock is
 * released; the other writer lets waiting batches run before it starts its next one.
 */
export interface WriteGate {
  readonly busy: boolean;
  /** Calls fn once the other writer has no batch in flight (at once when it has none). */
  whenFree(fn: () => void): void;
}

export interface GroupCommitOptions {
  /** Jobs per transaction; the rest wait for the next turn so one flush cannot hold the loop for long. */
  maxJobs: number;
  gate?: WriteGate;
}

/** The next transaction's jobs: at most maxJobs from the head of the queue, counted in stats. */
export function takeBatch<T>(queue: T[], maxJobs: number, stats: GroupCommitStats): T[] {
  const jobs = queue.length > maxJobs ? queue.slice(0, maxJobs) : queue;
  stats.transactions += 1;
  stats.jobs += jobs.length;
  if (jobs.length > stats.largestBatch) stats.largestBatch = jobs.length;
  return jobs;
}

export function createGroupCommit(db: SqliteDatabase, options: GroupCommitOptions): GroupCommit {
  let queue: Job[] = [];
  let scheduled = false;
  const stats: GroupCommitStats = { transactions: 0, jobs: 0, largestBatch: 0, failedBatches: 0 };

  // Called inside the batch's transaction, better-sqlite3 runs it as a SAVEPOINT.
  const inSavepoint = db.transaction((work: () => unknown) => work());
  // A batch of one job (a claim, a batch of acks) needs no savepoint: if the job throws, rolling the whole
  // transaction back undoes exactly that job. Its own error comes out wrapped, to tell it from a failed
  // BEGIN or COMMIT; one after which SQLite has already rolled back (disk full, I/O) fails the batch, as below.
  const alone = db.transaction((job: Job): unknown => {
    try {
      return job.work();
    } catch (error) {
      throw db.inTransaction ? new JobError(error) : error;
    }
  });
  const inBatch = db.transaction((jobs: Job[]): Result[] =>
    jobs.map((job) => {
      try {
        return { ok: true, value: inSavepoint(job.work) };
      } catch (error) {
        // SQLite has already rolled the whole transaction back: nothing of this batch can commit.
        if (!db.inTransaction) throw error;
        return { ok: false, error };
      }
    }),
  );

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  }

  function flush(): void {
    // Still scheduled while waiting at the gate: run() need not schedule again.
    if (options.gate?.busy) return options.gate.whenFree(flush);
    flushNow();
  }

  function flushNow(): void {
    scheduled = false;
    if (queue.length === 0) return;
    const jobs = takeBatch(queue, options.maxJobs, stats);
    queue = queue.length > jobs.length ? queue.slice(jobs.length) : [];
    if (queue.length > 0) schedule();
    if (jobs.length === 1) return runAlone(jobs[0]!);
    let results: Result[];
    try {
      results = inBatch.immediate(jobs);
    } catch (error) {
      return failBatch(jobs, error);
    }
    results.forEach((result, i) => {
      if (result.ok) jobs[i].resolve(result.value);
      else jobs[i].reject(jobFailed(result.error));
    });
  }

  function runAlone(job: Job): void {
    let value: unknown;
    try {
      value = alone.immediate(job);
    } catch (error) {
      return error instanceof JobError ? job.reject(jobFailed(error.error)) : failBatch([job], error);
    }
    job.resolve(value);
  }

  /** The transaction as a whole did not begin or commit: every caller of it is rejected, nothing was written. */
  function failBatch(jobs: Job[], error: unknown): void {
    stats.failedBatches += 1;
    const failure = storeError(error, `A write transaction of ${jobs.length} call(s) failed; none of them was committed`);
    for (const job of jobs) job.reject(failure);
  }

  return {
    run<T>(work: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
        schedule();
      });
    },
    drain() {
      while (queue.length > 0) flushNow();
    },
    get transactions() {
      return stats.transactions;
    },
    stats: () => ({ ...stats }),
  };
}

/** A lone job's own error, carried out of its transaction (which it rolled back). */
class JobError {
  constructor(readonly error: unknown) {}
}

/** One job's own error: that job was rolled back, the others of its transaction were not. */
function jobFailed(error: unknown): unknown {
  return storeError(error, 'A write failed and was rolled back');
}

/** Our own errors (lease lost, not found) pass through; a driver's error becomes a coded one with it as the cause. */
function storeError(error: unknown, message: string): unknown {
  if (error instanceof BilhetagemError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  return new StoreWriteError(`${message}: ${(error as Error)?.message ?? String(error)}`, error, typeof code === 'string' ? { sqliteCode: code } : {});
}
