/**
 * Group commit over a pool, the asynchronous counterpart of the SQLite adapter's: every write call is a
 * job queued here, and the jobs queued while the previous transaction was in flight are committed
 * together in the next one, on one pooled connection. PostgreSQL commits are durable
 * (synchronous_commit), so each commit waits for a WAL flush and costs round trips; one transaction per
 * request would spend most of the time waiting. Under load batches grow on their own: while one
 * transaction runs, requests pile up and all go into the next.
 *
 * Jobs of a mergeable kind (ingest) are run together by one call of their `runMany`, so a batch of
 * 64 single-record ingests is one statement (two when some are duplicates), not 64 or more.
 *
 * PostgreSQL has savepoints, but one per job would cost two more round trips each. Instead:
 * - a `run` job may throw one of our own errors (a lost lease, a missing row) only before it has
 *   written anything; only its caller is rejected and the batch goes on;
 * - when the database refuses one job (its own data: a NUL character, a key too long), the transaction
 *   is rolled back, that caller alone is rejected, and the other jobs run again in a new transaction. A
 *   merged unit that fails is split, so the failing call can be found;
 * - an error about the connection or the server as a whole (unreachable, shut down, deadlock, statement
 *   timeout) or a failed COMMIT rejects every caller of the batch with BLH_ERR_STORE_WRITE (503). Nothing
 *   of that batch was committed — or, when COMMIT itself failed, perhaps it was; retrying ingest is safe
 *   either way, the retry answers `duplicate`.
 * Each caller's promise settles only after the COMMIT. Input is checked before a job is queued.
 */
import { BilhetagemError } from '../../errors.js';
import type { Pool, PoolClient } from './driver.js';
import { isOwnFailure, storeError } from './driver.js';

/** What a job may do: run statements on the batch's connection, inside its transaction. */
export type Query = <R = Record<string, unknown>>(text: string, values?: unknown[], name?: string) => Promise<R[]>;

/** Calls that can be run as one: `runMany` answers one result per input, in order. */
export interface MergeableKind<I, R> {
  runMany(query: Query, inputs: I[]): Promise<R[]>;
}

interface Job {
  work?: (query: Query) => Promise<unknown>;
  kind?: MergeableKind<unknown, unknown>;
  input?: unknown;
  /** Set after a merged unit holding this job failed: from then on it runs alone. */
  alone: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitStats {
  /** Transactions begun for queued jobs (committed or not, including the reruns after a refused job). */
  transactions: number;
  /** Calls answered. */
  jobs: number;
  largestBatch: number;
  /** Transactions that failed as a whole, rejecting all of their jobs. */
  failedBatches: number;
  /** Transactions rolled back because the database refused one call; the others ran again. */
  reruns: number;
}

export interface PgGroupCommit {
  /** Runs `work` in the next batch; resolves after the batch commits. */
  run<T>(work: (query: Query) => Promise<T>): Promise<T>;
  /** Runs `input` with the other calls of `kind` in the next batch. */
  merge<I, R>(kind: MergeableKind<I, R>, input: I): Promise<R>;
  /** Resolves once everything queued so far is committed (or failed). */
  drain(): Promise<void>;
  stats(): GroupCommitStats;
}

export interface GroupCommitOptions {
  /** Jobs per transaction; the rest wait for the next one. */
  maxJobs: number;
  /** The statement that opens a write transaction. */
  begin: string;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };
type Unit = { kind?: MergeableKind<unknown, unknown>; jobs: Job[] };

/**
 * The statement opening a write transaction, given the session's synchronous_commit. With 'off' a commit
 * returns before its WAL is flushed and "accepted" would not mean durable, so it is turned back on for
 * the transaction; 'local', 'remote_write', 'remote_apply' and 'on' are the operator's choice and stay.
 */
export function beginFor(synchronousCommit: string): string {
  return synchronousCommit === 'off' ? 'BEGIN; SET LOCAL synchronous_commit TO on' : 'BEGIN';
}

export function createGroupCommit(pool: Pool, options: GroupCommitOptions): PgGroupCommit {
  let queue: Job[] = [];
  let scheduled = false;
  let running = false;
  const idle: Array<() => void> = [];
  const stats: GroupCommitStats = { transactions: 0, jobs: 0, largestBatch: 0, failedBatches: 0, reruns: 0 };

  function enqueue(job: Job): void {
    queue.push(job);
    schedule();
  }

  // setImmediate, not a microtask: callers answered by the last commit get to queue their next call first.
  function schedule(): void {
    if (scheduled || running) return;
    scheduled = true;
    setImmediate(() => void flush());
  }

  async function flush(): Promise<void> {
    scheduled = false;
    if (running) return;
    if (queue.length === 0) {
      for (const wake of idle.splice(0)) wake();
      return;
    }
    running = true;
    const jobs = queue.slice(0, options.maxJobs);
    queue = queue.slice(options.maxJobs);
    try {
      const rerun = await runBatch(jobs);
      queue = [...rerun, ...queue];
    } catch (error) {
      // runBatch answers every job itself; this is only so that a bug there cannot leave callers hanging.
      for (const job of jobs) job.reject(storeError(error, 'A write transaction failed'));
    } finally {
      running = false;
      if (queue.length > 0) schedule();
      else for (const wake of idle.splice(0)) wake();
    }
  }

  function units(jobs: Job[]): Unit[] {
    const out: Unit[] = [];
    const merged = new Map<MergeableKind<unknown, unknown>, Job[]>();
    for (const job of jobs) {
      if (!job.kind) {
        out.push({ jobs: [job] });
      } else if (job.alone) {
        out.push({ kind: job.kind, jobs: [job] });
      } else {
        let group = merged.get(job.kind);
        if (!group) {
          group = [];
          merged.set(job.kind, group);
          out.push({ kind: job.kind, jobs: group });
        }
        group.push(job);
      }
    }
    return out;
  }

  /** Runs one transaction; answers the jobs to run again (after a rollback caused by one of them). */
  async function runBatch(jobs: Job[]): Promise<Job[]> {
    stats.transactions += 1;
    stats.largestBatch = Math.max(stats.largestBatch, jobs.length);
    const settle = (job: Job, outcome: Outcome) => {
      stats.jobs += 1;
      if (outcome.ok) job.resolve(outcome.value);
      else job.reject(outcome.error);
    };
    const failAll = (error: unknown) => {
      stats.failedBatches += 1;
      const failure = storeError(error, `A write transaction of ${jobs.length} call(s) failed; none of them was committed`);
      for (const job of jobs) settle(job, { ok: false, error: failure });
    };

    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      failAll(error);
      return [];
    }
    // A connection lost while checked out emits 'error' besides failing the query; without a listener
    // that event would crash the process. The failed query is what we act on.
    const ignore = () => undefined;
    client.on('error', ignore);
    const query: Query = async <R>(text: string, values?: unknown[], name?: string) =>
      (await client.query<R & Record<string, unknown>>({ text, values, name })).rows as R[];
    let broken: Error | undefined;
    const rollback = async () => {
      await client.query('ROLLBACK').catch((error: unknown) => {
        broken = error instanceof Error ? error : new Error(String(error));
      });
    };

    try {
      try {
        await client.query(options.begin);
      } catch (error) {
        broken = error as Error;
        failAll(error);
        return [];
      }
      const outcomes = new Map<Job, Outcome>();
      for (const unit of units(jobs)) {
        try {
          if (unit.kind) {
            const values = await unit.kind.runMany(query, unit.jobs.map((j) => j.input));
            unit.jobs.forEach((job, i) => outcomes.set(job, { ok: true, value: values[i] }));
          } else {
            const [job] = unit.jobs;
            outcomes.set(job, { ok: true, value: await job.work!(query) });
          }
        } catch (error) {
          if (!isOwnFailure(error)) {
            await rollback();
            broken ??= error as Error;
            failAll(error);
            return [];
          }
          if (!unit.kind && error instanceof BilhetagemError) {
            // One of our own errors, thrown by a job before it wrote anything: the transaction goes on.
            outcomes.set(unit.jobs[0], { ok: false, error });
            continue;
          }
          // The database refused this unit's data (or a merged unit found it could not answer): roll back,
          // answer the culprit (or split a merged unit to find it), run the others again.
          await rollback();
          if (broken) {
            failAll(error);
            return [];
          }
          stats.reruns += 1;
          if (unit.kind && unit.jobs.length > 1) {
            for (const job of unit.jobs) job.alone = true;
            return jobs;
          }
          settle(unit.jobs[0], { ok: false, error: storeError(error, 'A write failed and was rolled back') });
          return jobs.filter((job) => job !== unit.jobs[0]);
        }
      }
      try {
        await client.query('COMMIT');
      } catch (error) {
        broken = error as Error;
        failAll(error);
        return [];
      }
      for (const job of jobs) settle(job, outcomes.get(job)!);
      return [];
    } finally {
      client.off('error', ignore);
      // A connection that failed is destroyed rather than given back for the next batch.
      client.release(broken);
    }
  }

  return {
    run<T>(work: (query: Query) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => enqueue({ work, alone: true, resolve: resolve as (value: unknown) => void, reject }));
    },
    merge<I, R>(kind: MergeableKind<I, R>, input: I): Promise<R> {
      return new Promise<R>((resolve, reject) =>
        enqueue({ kind: kind as MergeableKind<unknown, unknown>, input, alone: false, resolve: resolve as (value: unknown) => void, reject }),
      );
    },
    drain(): Promise<void> {
      if (queue.length === 0 && !running) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
    stats: () => ({ ...stats }),
  };
}
