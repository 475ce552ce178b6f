/**
 * Counts for metrics, without scanning whole tables: records by verdict, rejections and outbox rows by target
 * and status are kept as counts by the writes (counts.ts, schema step 6); pending rows are counted, with how
 * many are leased and the oldest, through the partial claim index — work in proportion to the queue, not to
 * the history the file keeps. Open dead letters are counted through their status index. For a store in a
 * file the reads run on the reader thread (reader-thread.ts), off the event loop.
 */
import { millis } from '../../ports/store-input.js';
import { addCounts, addPending, emptyStats, recountChanges, withAges } from '../../ports/store-stats.js';
import type { CountRow, PendingRow, RecountChange } from '../../ports/store-stats.js';
import type { OutboxStore } from '../../ports/store.js';
import type { SqliteClaims } from './claim.js';
import type { SqliteContext } from './context.js';
import { batchReader } from './reader-thread.js';

/**
 * `claims`: rows this store leased in memory (claim.ts), per target. Rows in flight at another process
 * are counted from its lock row, as of its last write.
 */
export function sqliteStats(ctx: SqliteContext, claims: Pick<SqliteClaims, 'holder' | 'leasedInMemory'>): Pick<OutboxStore, 'stats'> & { recountStats(): Promise<RecountChange[]> } {
  // Read in one snapshot on the reader thread (for a store in a file): a pending backlog of millions takes a
  // second or more to count, which must not hold the event loop. The leases this store keeps in memory are
  // added here after.
  const { db, writer, open } = ctx;
  const read = batchReader(ctx);
  const statements = {
    counts: 'SELECT kind, a, b, n FROM stat_counts',
    openDeadLetters: "SELECT count(*) AS n FROM dead_letters WHERE status = 'dead'",
    pending: `
      SELECT target, count(*) AS n, sum(lease_expires_at > @now) AS leased, min(created_at) AS oldest
      FROM outbox WHERE status = 'pending' GROUP BY target`,
    otherHolders: 'SELECT target, in_flight AS n FROM target_locks WHERE expires_at > @now AND holder <> @self',
  };

  async function stats(now: number) {
    const [counts, dead, pending, others] = await read([
      { sql: statements.counts, params: {} },
      { sql: statements.openDeadLetters, params: {} },
      { sql: statements.pending, params: { now } },
      { sql: statements.otherHolders, params: { now, self: claims.holder } },
    ]);
    const stats = emptyStats();
    addCounts(stats, counts as CountRow[]);
    stats.openDeadLetters = (dead as { n: number }[])[0]!.n;
    addPending(stats, pending as PendingRow[]);
    for (const [target, n] of claims.leasedInMemory(now)) if (stats.targets[target]) stats.targets[target].leased += n;
    for (const r of others as { target: string; n: number }[]) {
      if (stats.targets[r.target]) stats.targets[r.target].leased += r.n;
    }
    return withAges(stats, now);
  }

  // A scan of the tables, as schema step 6 filled the counts; one write transaction, so no other write
  // (of this process or another) falls between the scan and the new counts.
  const everyCount = db.prepare(statements.counts);
  const clearCounts = db.prepare('DELETE FROM stat_counts');
  const scans = [
    "INSERT INTO stat_counts SELECT 'records', verdict, '', count(*) FROM records GROUP BY verdict",
    "INSERT INTO stat_counts SELECT 'rejections', '', '', count(*) FROM rejections HAVING count(*) > 0",
    "INSERT INTO stat_counts SELECT 'outbox', target, status, count(*) FROM outbox WHERE status <> 'pending' GROUP BY target, status",
  ].map((sql) => db.prepare(sql));

  return {
    async stats(options) {
      open();
      return stats(millis(options?.now, 'now'));
    },

    async recountStats() {
      open();
      return writer.run(() => {
        const before = everyCount.all() as CountRow[];
        clearCounts.run();
        for (const scan of scans) scan.run();
        return recountChanges(before, everyCount.all() as CountRow[]);
      });
    },
  };
}
