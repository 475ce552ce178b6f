/**
 * Counts for metrics, in one snapshot, without scanning whole tables: records by verdict, rejections and
 * outbox rows by target and status (but pending) are kept by the writes (schema step 5): each write adds its
 * change as a row of stat_deltas in the statement that makes it, and a count is its row of stat_counts plus
 * its deltas. Writers never update a shared row, so they never wait for each other's counts. Now and then
 * (at most every FOLD_EVERY_MS per store, when stats() is called) the deltas are folded into stat_counts, by
 * one process at a time (a transaction-level advisory lock; the others skip it). Pending rows are counted,
 * with how many are leased and the oldest, through the partial claim index; open dead letters through their
 * status index.
 */
import { millis } from '../../ports/store-input.js';
import { addCounts, addPending, emptyStats, recountChanges, withAges } from '../../ports/store-stats.js';
import type { CountRow, PendingRow, RecountChange } from '../../ports/store-stats.js';
import type { OutboxStore } from '../../ports/store.js';
import type { PgContext } from './context.js';

/** How often, at most, one store folds the deltas into the counts. */
const FOLD_EVERY_MS = 5000;

/** The fold's advisory lock, with the schema's hash as second key (as the migrations' lock). */
const FOLD_LOCK = 0x626c6802; // "blh" 2

export function pgStats({ t, writer, snapshot, open, schema }: PgContext): Pick<OutboxStore, 'stats'> & { recountStats(): Promise<RecountChange[]> } {
  // Each count: its row of stat_counts plus its deltas.
  const counts = `SELECT kind, a, b, sum(n)::bigint AS n FROM (
      SELECT kind, a, b, n FROM ${t.statCounts} UNION ALL SELECT kind, a, b, n FROM ${t.statDeltas}
    ) AS c GROUP BY kind, a, b`;
  const openDeadLetters = `SELECT count(*) AS n FROM ${t.deadLetters} WHERE status = 'dead'`;
  const pending = `
    SELECT target, count(*) AS n, count(*) FILTER (WHERE lease_expires_at > $1) AS leased, min(created_at) AS oldest
    FROM ${t.outbox} WHERE status = 'pending' GROUP BY target`;
  // Deltas are moved into the counts in one statement: a delta is either still a row of stat_deltas or
  // already added to its count, never both, in every snapshot. Counts are updated in key order.
  const fold = `
    WITH locked AS (SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS got),
    moved AS (DELETE FROM ${t.statDeltas} WHERE (SELECT got FROM locked) RETURNING kind, a, b, n)
    INSERT INTO ${t.statCounts} AS c (kind, a, b, n)
    SELECT kind, a, b, sum(n) FROM moved GROUP BY kind, a, b ORDER BY kind, a, b
    ON CONFLICT (kind, a, b) DO UPDATE SET n = c.n + excluded.n`;
  let foldedAt = -Infinity;
  // A scan of the tables, as schema step 5 filled the counts. EXCLUSIVE on stat_deltas waits for every
  // transaction that has written a delta (they hold ROW EXCLUSIVE until they end) and holds back the writes
  // that would add one, so no write falls between the scan and the new counts; writers wait meanwhile.
  const recount = [
    `LOCK TABLE ${t.statDeltas} IN EXCLUSIVE MODE`,
    `DELETE FROM ${t.statDeltas}`,
    `DELETE FROM ${t.statCounts}`,
    `INSERT INTO ${t.statCounts} SELECT 'records', verdict, '', count(*) FROM ${t.records} GROUP BY verdict`,
    `INSERT INTO ${t.statCounts} SELECT 'rejections', '', '', count(*) FROM ${t.rejections} HAVING count(*) > 0`,
    `INSERT INTO ${t.statCounts} SELECT 'outbox', target, status, count(*) FROM ${t.outbox} WHERE status <> 'pending' GROUP BY target, status`,
  ];

  return {
    async stats(options) {
      open();
      const now = millis(options?.now, 'now');
      if (Date.now() - foldedAt >= FOLD_EVERY_MS) {
        foldedAt = Date.now();
        // Only tidier storage: the counts read below are the same with the deltas left where they are.
        await writer.run((query) => query(fold, [FOLD_LOCK, schema], 'blh_stats_fold')).catch(() => undefined);
      }
      return snapshot(async (query) => {
        const stats = emptyStats();
        addCounts(stats, await query<CountRow>(counts, [], 'blh_stats_counts'));
        const [dead] = await query<{ n: number }>(openDeadLetters, [], 'blh_stats_dead');
        stats.openDeadLetters = Number(dead!.n);
        addPending(stats, await query<PendingRow>(pending, [now], 'blh_stats_pending'));
        return withAges(stats, now);
      });
    },

    async recountStats() {
      open();
      return writer.run(async (query) => {
        // After the lock: counts as they stand once every write that added a delta has committed.
        await query(recount[0]!);
        const before = await query<CountRow>(counts);
        for (const sql of recount.slice(1)) await query(sql);
        return recountChanges(before, await query<CountRow>(counts));
      });
    },
  };
}
