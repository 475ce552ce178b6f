/** The shape of `stats()` filled in the same way by every adapter: they count, this derives the ages. */
import type { StoreStats, TargetStats } from './store.js';

export function emptyStats(): StoreStats {
  return {
    records: { accepted: 0, skipped: 0, rejected: 0 },
    deliveries: { pending: 0, delivered: 0, dead: 0, discarded: 0 },
    openDeadLetters: 0,
    targets: {},
    oldestPendingAt: null,
    oldestPendingAgeMs: null,
  };
}

export function emptyTargetStats(): TargetStats {
  return { pending: 0, leased: 0, delivered: 0, dead: 0, discarded: 0, oldestPendingAt: null, oldestPendingAgeMs: null };
}

/** Fills in the ages and the overall oldest from each target's oldest pending row. */
export function withAges(stats: StoreStats, now: number): StoreStats {
  for (const t of Object.values(stats.targets)) {
    if (t.oldestPendingAt === null) continue;
    t.oldestPendingAgeMs = Math.max(0, now - t.oldestPendingAt.getTime());
    if (stats.oldestPendingAt === null || t.oldestPendingAt < stats.oldestPendingAt) stats.oldestPendingAt = t.oldestPendingAt;
  }
  if (stats.oldestPendingAt !== null) stats.oldestPendingAgeMs = Math.max(0, now - stats.oldestPendingAt.getTime());
  return stats;
}

