/**
 * Counts for metrics, in one snapshot. Counting delivered rows and records scans their tables (an index
 * at best), which is fine at a scrape every few seconds up to millions of rows; beyond that, keep
 * counters. Pending rows are read through the partial claim index.
 */
import { millis } from '../../ports/store-input.js';
import { emptyStats, emptyTargetStats, withAges } from '../../ports/store-stats.js';
import type { DeliveryStatus, OutboxStore, StoredVerdict } from '../../ports/store.js';
import type { PgContext } from './context.js';

export function pgStats({ t, snapshot, open }: PgContext): Pick<OutboxStore, 'stats'> {
  const verdicts = `SELECT verdict, count(*) AS n FROM ${t.records} GROUP BY verdict`;
  const singles = `
    SELECT (SELECT count(*) FROM ${t.rejections}) AS rejected,
           (SELECT count(*) FROM ${t.deadLetters} WHERE status = 'dead') AS "openDeadLetters"`;
  const byStatus = `SELECT target, status, count(*) AS n FROM ${t.outbox} GROUP BY target, status`;
  const pending = `
    SELECT target, count(*) FILTER (WHERE lease_expires_at > $1) AS leased, min(created_at) AS oldest
    FROM ${t.outbox} WHERE status = 'pending' GROUP BY target`;

  return {
    async stats(options) {
      open();
      const now = millis(options?.now, 'now');
      return snapshot(async (query) => {
        const stats = emptyStats();
        for (const r of await query<{ verdict: StoredVerdict; n: number }>(verdicts)) stats.records[r.verdict] = r.n;
        const [counts] = await query<{ rejected: number; openDeadLetters: number }>(singles);
        stats.records.rejected = counts.rejected;
        stats.openDeadLetters = counts.openDeadLetters;
        for (const r of await query<{ target: string; status: DeliveryStatus; n: number }>(byStatus)) {
          (stats.targets[r.target] ??= emptyTargetStats())[r.status] = r.n;
          stats.deliveries[r.status] += r.n;
        }
        for (const r of await query<{ target: string; leased: number; oldest: number }>(pending, [now])) {
          const target = stats.targets[r.target];
          target.leased = r.leased;
          target.oldestPendingAt = new Date(r.oldest);
        }
        return withAges(stats, now);
      });
    },
  };
}
