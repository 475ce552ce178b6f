/** The shape of `stats()` filled in the same way by every adapter: they count, this derives the ages. */
import type { DeliveryStatus, StoreStats, StoredVerdict, TargetStats } from './store.js';

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

/** A count `recountStats()` found wrong, and what a scan says it is: (kind, a, b) as in stat_counts. */
export interface RecountChange {
  /** `records` (a: verdict), `rejections`, or `outbox` (a: target, b: status). */
  kind: string;
  a: string;
  b: string;
  before: number;
  after: number;
}

/** A row of stat_counts as a store reads it. */
export type CountRow = { kind: string; a: string; b: string; n: number | string };

/** The counts that differ between two listings of stat_counts (a missing count is 0). */
export function recountChanges(before: readonly CountRow[], after: readonly CountRow[]): RecountChange[] {
  const key = (r: CountRow) => JSON.stringify([r.kind, r.a, r.b]);
  const all = new Map<string, RecountChange>();
  for (const r of before) all.set(key(r), { kind: r.kind, a: r.a, b: r.b, before: Number(r.n), after: 0 });
  for (const r of after) {
    const change = all.get(key(r)) ?? { kind: r.kind, a: r.a, b: r.b, before: 0, after: 0 };
    change.after = Number(r.n);
    all.set(key(r), change);
  }
  return [...all.values()].filter((c) => c.before !== c.after);
}

/**
 * Adds the counts the writes keep (stat_counts, with PostgreSQL's deltas summed in) to `stats`: records by
 * verdict, rejections, outbox rows by target and status. A count of 0 names no target.
 */
export function addCounts(stats: StoreStats, rows: readonly CountRow[]): void {
  for (const r of rows) {
    const n = Number(r.n);
    if (n === 0) continue;
    if (r.kind === 'records') stats.records[r.a as StoredVerdict] = n;
    else if (r.kind === 'rejections') stats.records.rejected = n;
    else if (r.kind === 'outbox') {
      (stats.targets[r.a] ??= emptyTargetStats())[r.b as DeliveryStatus] = n;
      stats.deliveries[r.b as DeliveryStatus] += n;
    }
  }
}

/** A target's pending rows as a store counts them: how many, how many leased on the rows, the oldest. */
export type PendingRow = { target: string; n: number | string; leased: number | string | null; oldest: number | string };

/** Adds each target's pending rows to `stats`. */
export function addPending(stats: StoreStats, rows: readonly PendingRow[]): void {
  for (const r of rows) {
    const t = (stats.targets[r.target] ??= emptyTargetStats());
    t.pending = Number(r.n);
    stats.deliveries.pending += t.pending;
    t.leased = Number(r.leased ?? 0);
    t.oldestPendingAt = new Date(Number(r.oldest));
  }
}
