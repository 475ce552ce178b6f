/**
 * Counts for metrics. Counting delivered rows and records scans their tables (a covering index at
 * best), which is fine at a scrape every few seconds up to millions of rows; beyond that, keep counters.
 * Pending rows are read through the partial claim index.
 */
import { millis } from '../../ports/store-input.js';
import { emptyStats, emptyTargetStats, withAges } from '../../ports/store-stats.js';
import type { DeliveryStatus, OutboxStore, StoredVerdict } from '../../ports/store.js';
import type { SqliteClaims } from './claim.js';
import type { SqliteContext } from './context.js';

/**
 * `claims`: rows this store leased in memory (claim.ts), per target. Rows in flight at another process
 * are counted from its lock row, as of its last write.
 */
export function sqliteStats({ db, open }: SqliteContext, claims: Pick<SqliteClaims, 'holder' | 'leasedInMemory'>): Pick<OutboxStore, 'stats'> {
  const verdicts = db.prepare('SELECT verdict, count(*) AS n FROM records GROUP BY verdict');
  const rejections = db.prepare('SELECT count(*) FROM rejections').pluck();
  const openDeadLetters = db.prepare("SELECT count(*) FROM dead_letters WHERE status = 'dead'").pluck();
  const byStatus = db.prepare('SELECT target, status, count(*) AS n FROM outbox GROUP BY target, status');
  const pending = db.prepare(`
    SELECT target, sum(lease_expires_at > @now) AS leased, min(created_at) AS oldest
    FROM outbox WHERE status = 'pending' GROUP BY target`);

  const otherHolders = db.prepare('SELECT target, in_flight AS n FROM target_locks WHERE expires_at > @now AND holder <> @self');

  const read = db.transaction((now: number) => {
    const stats = emptyStats();
    for (const r of verdicts.all() as { verdict: StoredVerdict; n: number }[]) stats.records[r.verdict] = r.n;
    stats.records.rejected = rejections.get() as number;
    stats.openDeadLetters = openDeadLetters.get() as number;
    for (const r of byStatus.all() as { target: string; status: DeliveryStatus; n: number }[]) {
      (stats.targets[r.target] ??= emptyTargetStats())[r.status] = r.n;
      stats.deliveries[r.status] += r.n;
    }
    for (const r of pending.all({ now }) as { target: string; leased: number | null; oldest: number }[]) {
      const t = stats.targets[r.target];
      t.leased = r.leased ?? 0;
      t.oldestPendingAt = new Date(r.oldest);
    }
    for (const [target, n] of claims.leasedInMemory(now)) if (stats.targets[target]) stats.targets[target].leased += n;
    for (const r of otherHolders.all({ now, self: claims.holder }) as { target: string; n: number }[]) {
      if (stats.targets[r.target]) stats.targets[r.target].leased += r.n;
    }
    return withAges(stats, now);
  });

  return {
    async stats(options) {
      open();
      return read(millis(options?.now, 'now'));
    },
  };
}
