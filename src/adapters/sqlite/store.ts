/**
 * The SQLite store: one file, WAL, synchronous=FULL by default, so a resolved ingest() means the
 * record is on disk. Every write goes through group commit (group-commit.ts; records and rejections on
 * a thread of their own, writer-thread.ts); reads run directly.
 */
import { BilhetagemError, OptionsError } from '../../errors.js';
import { StoreClosedError, StoreOpenError } from '../../ports/errors.js';
import type { InsightStore } from '../../ports/insight-store.js';
import type { RetentionStore } from '../../ports/retention-store.js';
import type { Store } from '../../ports/store.js';
import { sqliteAdmin } from './admin.js';
import { sqliteClaims } from './claim.js';
import type { SqliteContext } from './context.js';
import { sqliteDeadLetters } from './dead-letters.js';
import { connectionPragmas, driverPath, loadDriver, statementCache } from './driver.js';
import type { SqliteDatabase } from './driver.js';
import { createGroupCommit } from './group-commit.js';
import { cachedKeyLookup } from './key-cache.js';
import { sqliteInsight } from './insight.js';
import type { GroupCommitStats } from './group-commit.js';
import type { RecountChange } from '../../ports/store-stats.js';
import { migrate, refuseNewerSchema } from './migrations.js';
import { RECORD_WRITES, sqliteRecords } from './records.js';
import { sqliteRetention } from './retention.js';
import { sqliteStats } from './stats.js';
import { createThreadWriter } from './writer-thread.js';
import { createReaderThread } from './reader-thread.js';

export type SqliteSynchronous = 'EXTRA' | 'FULL' | 'NORMAL' | 'OFF';

export interface SqliteStoreOptions {
  /** The database file; created (with its schema) when missing. `:memory:` works for throwaway stores. */
  filename: string;
  /**
   * FULL (default): a commit is on disk when it returns. NORMAL in WAL mode survives a crash of the
   * process but may lose the last commits on power loss — then "accepted" would not mean durable.
   */
  synchronous?: SqliteSynchronous;
  /** How long to wait for another connection's write lock before failing with BLH_ERR_STORE_WRITE. Default 5000. */
  busyTimeoutMs?: number;
  /** The most write calls committed in one transaction; the rest go in the next. Default 1000. */
  maxBatchJobs?: number;
}

export interface SqliteStore extends Store, RetentionStore, InsightStore {
  readonly filename: string;
  /**
   * Counts again, from a scan of the tables, what stats() reads from counts kept by the writes (schema step 6),
   * for a file whose rows were changed by hand; answers the counts that were wrong. Holds the write lock while
   * it scans.
   */
  recountStats(): Promise<RecountChange[]>;
  /** Group-commit counters: how many transactions carried how many calls. */
  writeStats(): GroupCommitStats;
}

const defaults = { synchronous: 'FULL', busyTimeoutMs: 5000, maxBatchJobs: 1000 } as const;
const known = new Set(['filename', 'synchronous', 'busyTimeoutMs', 'maxBatchJobs']);
const synchronousModes: readonly string[] = ['EXTRA', 'FULL', 'NORMAL', 'OFF'];

export function resolveSqliteOptions(options: SqliteStoreOptions): Required<SqliteStoreOptions> {
  if (typeof options !== 'object' || options === null) throw new OptionsError('SQLite store options must be an object');
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new OptionsError(`Unknown SQLite store option "${key}"`, { option: key });
  }
  const resolved = { ...defaults, ...options };
  if (typeof resolved.filename !== 'string' || resolved.filename === '') throw new OptionsError('filename must be a non-empty string', { option: 'filename' });
  if (!synchronousModes.includes(resolved.synchronous)) {
    throw new OptionsError(`synchronous must be one of ${synchronousModes.join(', ')}`, { option: 'synchronous' });
  }
  if (!Number.isSafeInteger(resolved.busyTimeoutMs) || resolved.busyTimeoutMs < 0) {
    throw new OptionsError('busyTimeoutMs must be a non-negative integer', { option: 'busyTimeoutMs' });
  }
  if (!Number.isSafeInteger(resolved.maxBatchJobs) || resolved.maxBatchJobs < 1) {
    throw new OptionsError('maxBatchJobs must be a positive integer', { option: 'maxBatchJobs' });
  }
  return resolved;
}

export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const o = resolveSqliteOptions(options);
  const db = openDatabase(o);
  let closed = false;
  // Records and rejections commit on a thread of their own, off the event loop; a database in memory
  // has no second connection to give it, so it writes them here.
  const thread =
    o.filename === ':memory:'
      ? undefined
      : createThreadWriter({ driver: driverPath(), filename: o.filename, busyTimeoutMs: o.busyTimeoutMs, pragmas: connectionPragmas(o.synchronous), maxJobs: o.maxBatchJobs, sql: RECORD_WRITES });
  const writer = createGroupCommit(db, { maxJobs: o.maxBatchJobs, ...(thread ? { gate: thread } : {}) });
  // The admin panel's counts and searches read on a thread of their own, started on the first of them.
  const reader = o.filename === ':memory:' ? undefined : createReaderThread({ driver: driverPath(), filename: o.filename, busyTimeoutMs: o.busyTimeoutMs });
  const ctx: SqliteContext = {
    db,
    writer,
    ...(thread ? { thread } : {}),
    ...(reader ? { reader } : {}),
    cached: statementCache(db),
    open: () => {
      if (closed) throw new StoreClosedError();
    },
  };

  const admin = sqliteAdmin(ctx);
  const { holder, leasedInMemory, releaseAll, ...claims } = sqliteClaims(ctx);

  return {
    filename: o.filename,
    ...sqliteRecords(ctx),
    ...claims,
    ...sqliteDeadLetters(ctx),
    ...sqliteStats(ctx, { holder, leasedInMemory }),
    ...admin,
    findApiKeyByPrefix: cachedKeyLookup(ctx, admin.findApiKeyByPrefix),
    ...sqliteRetention(ctx),
    ...sqliteInsight(ctx),
    writeStats: () => (thread ? sumStats(writer.stats(), thread.stats()) : writer.stats()),

    // An empty write transaction takes the write lock without writing: it fails on a read-only file or
    // a lock held past busy_timeout. A full disk shows only on the next real write.
    async ready() {
      if (closed) return false;
      try {
        await writer.run(() => undefined);
        return true;
      } catch {
        return false;
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      await thread?.close();
      await reader?.close();
      writer.drain();
      // Another store (another process) may deliver these targets at once; rows still leased keep their lease.
      try {
        releaseAll();
      } catch {
        // The locks then expire on their own (a read-only or failing file): nothing is lost by waiting.
      }
      db.close();
    },
  };
}

function sumStats(a: GroupCommitStats, b: GroupCommitStats): GroupCommitStats {
  return { transactions: a.transactions + b.transactions, jobs: a.jobs + b.jobs, largestBatch: Math.max(a.largestBatch, b.largestBatch), failedBatches: a.failedBatches + b.failedBatches };
}

function openDatabase(o: Required<SqliteStoreOptions>): SqliteDatabase {
  const Driver = loadDriver();
  let db: SqliteDatabase;
  try {
    db = new Driver(o.filename, { timeout: o.busyTimeoutMs });
  } catch (error) {
    throw new StoreOpenError(o.filename, error);
  }
  try {
    refuseNewerSchema(db, o.filename);
    db.pragma('journal_mode = WAL');
    for (const pragma of connectionPragmas(o.synchronous)) db.pragma(pragma);
    migrate(db, o.filename);
    return db;
  } catch (error) {
    db.close();
    throw error instanceof BilhetagemError ? error : new StoreOpenError(o.filename, error);
  }
}
