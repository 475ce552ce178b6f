/**
 * Counts for metrics. Counting delivered rows and records scans their tables (a covering index at
 * best), which is fine at a scrape every few seconds up to millions of rows; beyond that, keep counters.
 * Pending rows are read through the partial claim index.
 */
import { millis } from '../../ports/store-input.js';
import { emptyStats, emptyTargetStats, withAges } from '../../ports/store-stats.js';
import type { DeliveryStatus, OutboxStore, StoredVerdict } from '../../ports/store.js';
import type { SqliteContext } from './context.js';

export function sqliteStats({ db, open }: SqliteContext): Pick<OutboxStore, 'stats'> {
  const verdicts = db.prepare('SELECT verdict, count(*) AS n FROM records GROUP BY verdict');
  const rejections = db.prepare('SELECT count(*) FROM rejections').pluck();
  const openDeadLetters = db.prepare("SELECT count(*) FROM dead_letters WHERE status = 'dead'").pluck();
  const byStatus = db.prepare('SELECT target, status, count(*) AS n FROM outbox GROUP BY target, status');
  const pending = db.prepare(`
    SELECT target, sum(lease_expires_at > @now) AS leased, min(created_at) AS oldest
    FROM outbox WHERE status = 'pending' GROUP BY target`);

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
    return withAges(stats, now);
  });

  return {
    async stats(options) {
      open();
      return read(millis(options?.now, 'now'));
    },
  };
}
