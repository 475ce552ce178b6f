/**
 * Counts for metrics, without scanning whole tables: records by verdict, rejections and outbox rows by target
 * and status are kept as counts by the writes (counts.ts, schema step 6); pending rows are counted, with how
 * many are leased and the oldest, through the partial claim index — work in proportion to the queue, not to
 * the history the file keeps. Open dead letters are counted through their status index.
 */
import { millis } from '../../ports/store-input.js';
import { emptyStats, emptyTargetStats, withAges } from '../../ports/store-stats.js';
import { recountChanges } from '../../ports/store-stats.js';
import type { CountRow, RecountChange } from '../../ports/store-stats.js';
import type { DeliveryStatus, OutboxStore, StoredVerdict } from '../../ports/store.js';
import type { SqliteClaims } from './claim.js';
import type { SqliteContext } from './context.js';

/**
 * `claims`: rows this store leased in memory (claim.ts), per target. Rows in flight at another process
 * are counted from its lock row, as of its last write.
 */
export function sqliteStats({ db, writer, open }: SqliteContext, claims: Pick<SqliteClaims, 'holder' | 'leasedInMemory'>): Pick<OutboxStore, 'stats'> & { recountStats(): Promise<RecountChange[]> } {
  const counts = db.prepare("SELECT kind, a, b, n FROM stat_counts WHERE n <> 0");
  const openDeadLetters = db.prepare("SELECT count(*) FROM dead_letters WHERE status = 'dead'").pluck();
  const pending = db.prepare(`
    SELECT target, count(*) AS n, sum(lease_expires_at > @now) AS leased, min(created_at) AS oldest
    FROM outbox WHERE status = 'pending' GROUP BY target`);

  const otherHolders = db.prepare('SELECT target, in_flight AS n FROM target_locks WHERE expires_at > @now AND holder <> @self');

  const read = db.transaction((now: number) => {
    const stats = emptyStats();
    for (const r of counts.all() as { kind: string; a: string; b: string; n: number }[]) {
      if (r.kind === 'records') stats.records[r.a as StoredVerdict] = r.n;
      else if (r.kind === 'rejections') stats.records.rejected = r.n;
      else if (r.kind === 'outbox') {
        (stats.targets[r.a] ??= emptyTargetStats())[r.b as DeliveryStatus] = r.n;
        stats.deliveries[r.b as DeliveryStatus] += r.n;
      }
    }
    stats.openDeadLetters = openDeadLetters.get() as number;
    for (const r of pending.all({ now }) as { target: string; n: number; leased: number | null; oldest: number }[]) {
      const t = (stats.targets[r.target] ??= emptyTargetStats());
      t.pending = r.n;
      stats.deliveries.pending += r.n;
      t.leased = r.leased ?? 0;
      t.oldestPendingAt = new Date(r.oldest);
    }
    for (const [target, n] of claims.leasedInMemory(now)) if (stats.targets[target]) stats.targets[target].leased += n;
    for (const r of otherHolders.all({ now, self: claims.holder }) as { target: string; n: number }[]) {
      if (stats.targets[r.target]) stats.targets[r.target].leased += r.n;
    }
    return withAges(stats, now);
  });

  // A scan of the tables, as schema step 6 filled the counts; one write transaction, so no other write
  // (of this process or another) falls between the scan and the new counts.
  const everyCount = db.prepare('SELECT kind, a, b, n FROM stat_counts');
  const clearCounts = db.prepare('DELETE FROM stat_counts');
  const scans = [
    "INSERT INTO stat_counts SELECT 'records', verdict, '', count(*) FROM records GROUP BY verdict",
    "INSERT INTO stat_counts SELECT 'rejections', '', '', count(*) FROM rejections HAVING count(*) > 0",
    "INSERT INTO stat_counts SELECT 'outbox', target, status, count(*) FROM outbox WHERE status <> 'pending' GROUP BY target, status",
  ].map((sql) => db.prepare(sql));

  return {
    async stats(options) {
      open();
      return read(millis(options?.now, 'now'));
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

