/**
 * The PostgreSQL store: for when one machine is outgrown. Many ingest servers and forwarders share one
 * database; the unique constraint on (source, id), FOR UPDATE SKIP LOCKED claims and lease tokens keep
 * them from stepping on each other, and a resolved ingest() means the commit is durable
 * (synchronous_commit). Every write goes through group commit (group-commit.ts); reads use the pool.
 */
import { BilhetagemError } from '../../errors.js';
import { StoreClosedError, StoreOpenError } from '../../ports/errors.js';
import type { InsightStore } from '../../ports/insight-store.js';
import type { RetentionStore } from '../../ports/retention-store.js';
import type { Store } from '../../ports/store.js';
import { pgAdmin } from './admin.js';
import { pgClaims } from './claim.js';
import type { PgContext } from './context.js';
import { pgDeadLetters } from './dead-letters.js';
import { loadDriver, storeError, typeParsers } from './driver.js';
import type { Client, PgModule, Pool, PoolClient } from './driver.js';
import { beginFor, createGroupCommit } from './group-commit.js';
import { pgInsight } from './insight.js';
import { pgKeyLocks } from './key-locks.js';
import type { GroupCommitStats, Query } from './group-commit.js';
import { migrate } from './migrations.js';
import { describeTarget, resolvePostgresOptions } from './options.js';
import type { PostgresStoreOptions, ResolvedPostgresOptions } from './options.js';
import { pgRecords } from './records.js';
import { pgRetention } from './retention.js';
import { tableNames } from './sql.js';
import { pgStats } from './stats.js';
import type { RecountChange } from '../../ports/store-stats.js';

export interface PoolStats {
  /** Connections open now, idle ones included. */
  total: number;
  idle: number;
  /** Calls waiting for a connection because all `max` are busy. */
  waiting: number;
  max: number;
}

export interface PostgresStore extends Store, RetentionStore, InsightStore {
  readonly schema: string;
  /**
   * Counts again, from a scan of the tables, what stats() reads from counts kept by the writes (schema step 5),
   * after rows were changed by hand or written by an older version; answers the counts that were wrong. Writers
   * wait while it scans.
   */
  recountStats(): Promise<RecountChange[]>;
  /** Group-commit counters: how many transactions carried how many calls. */
  writeStats(): GroupCommitStats;
  poolStats(): PoolStats;
}

/**
 * Connects, migrates the schema (creating it when missing) and answers the store. Fails with
 * BLH_ERR_STORE_OPEN when the database cannot be reached, BLH_ERR_SCHEMA_TOO_NEW or
 * BLH_ERR_STORE_MIGRATION; BLH_ERR_DRIVER_MISSING when pg is not installed.
 */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const o = resolvePostgresOptions(options);
  const target = describeTarget(o.connectionString, o.schema);
  const { pool, synchronousCommit } = await openPool(o, target);
  let closed = false;
  let closing: Promise<void> | undefined;

  const writer = createGroupCommit(pool, { maxJobs: o.maxBatchJobs, begin: beginFor(synchronousCommit) });
  const open = () => {
    if (closed) throw new StoreClosedError();
  };
  const locks = pgKeyLocks(() => lockConnection(o), o.schema, open);
  const ctx: PgContext = {
    schema: o.schema,
    t: tableNames(o.schema),
    writer,
    read: async (text, values, name) => {
      try {
        return (await pool.query({ text, values, name })).rows;
      } catch (error) {
        throw storeError(error, 'A read failed');
      }
    },
    snapshot: (work) => snapshot(pool, work),
    open,
  };
  const writable = `SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off'
    AND has_table_privilege($1, 'INSERT') AS writable`;

  return {
    schema: o.schema,
    ...pgRecords(ctx),
    ...pgClaims(ctx),
    ...pgDeadLetters(ctx),
    ...pgStats(ctx),
    ...pgAdmin(ctx),
    ...pgRetention(ctx),
    ...pgInsight(ctx),
    keyLocks: (target) => locks.keyLocks(target),
    writeStats: () => writer.stats(),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: o.pool.max }),

    // Reachable, not a read-only standby, and our tables take inserts. A full disk shows only on a real write.
    async ready() {
      if (closed) return false;
      try {
        const [row] = await ctx.read<{ writable: boolean }>(writable, [ctx.t.records]);
        return row.writable === true;
      } catch {
        return false;
      }
    },

    // Refuses new calls at once, commits what is queued, then ends the pool (which waits for reads in flight).
    close() {
      closed = true;
      closing ??= writer
        .drain()
        .then(() => locks.close())
        .then(() => pool.end());
      return closing;
    },
  };
}

/** What every connection of a store is opened with: the pool's and the key locks' alike. */
function connectionSettings(o: ResolvedPostgresOptions, pg: PgModule, name: string) {
  return {
    connectionString: o.connectionString,
    connectionTimeoutMillis: o.pool.connectionTimeoutMillis,
    statement_timeout: o.statementTimeoutMs === 0 ? undefined : o.statementTimeoutMs,
    application_name: name,
    keepAlive: true,
    types: typeParsers(pg),
  };
}

async function openPool(o: ResolvedPostgresOptions, target: string): Promise<{ pool: Pool; synchronousCommit: string }> {
  const pg = await loadDriver();
  const pool = new pg.Pool({ ...connectionSettings(o, pg, 'bilhetagem'), max: o.pool.max, idleTimeoutMillis: o.pool.idleTimeoutMillis });
  // An idle connection that breaks (the server restarted, a proxy timed it out) is an 'error' event on the
  // pool; unhandled it would crash the process. The pool drops that connection and opens a fresh one
  // on the next checkout, so there is nothing else to do here.
  pool.on('error', () => undefined);
  try {
    await migrate(pool, o.schema, target);
    const { rows } = await pool.query<{ setting: string }>("SELECT current_setting('synchronous_commit') AS setting");
    return { pool, synchronousCommit: rows[0].setting };
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error instanceof BilhetagemError ? error : new StoreOpenError(target, error);
  }
}

/** A connection outside the pool, for the key locks (key-locks.ts): the pool's settings, its own name. */
async function lockConnection(o: ResolvedPostgresOptions): Promise<Client> {
  const pg = await loadDriver();
  const client = new pg.Client(connectionSettings(o, pg, 'bilhetagem-key-locks'));
  // Until the caller listens: a connection that fails to open rejects connect() below.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}

async function snapshot<T>(pool: Pool, work: (query: Query) => Promise<T>): Promise<T> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw storeError(error, 'The database could not be reached');
  }
  const ignore = () => undefined; // the failed query reports a lost connection; see group-commit.ts
  client.on('error', ignore);
  let broken: Error | undefined;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const result = await work(async (text, values, name) => (await client.query({ text, values, name })).rows);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError as Error;
    });
    throw storeError(error, 'A read failed');
  } finally {
    client.off('error', ignore);
    client.release(broken);
  }
}
