/**
 * The overview's numbers. Per-bucket counts come from the store (`timeSeries`: what was received,
 * attempted and dead-lettered, read from the rows themselves); the queue's depth has no history in the
 * store, so it is sampled here every `sampleIntervalMs` while the server runs (and on each read), kept for
 * a day. Answers are cached for `cacheMs`, so many open pages cost one set of queries.
 */
import type { StoreStats } from '../ports/store.ts';
import type { TimeSeries } from '../ports/insight-store.ts';
import { evaluateAlerts } from './alerts.ts';
import type { Alert } from './alerts.ts';
import type { ResolvedAdminOptions } from './options.ts';
import { unsupported } from './errors.ts';

export const WINDOWS = {
  '1h': { spanMs: 3_600_000, bucketMs: 60_000 },
  '24h': { spanMs: 86_400_000, bucketMs: 15 * 60_000 },
} as const;
export type WindowName = keyof typeof WINDOWS;

export interface QueueSample {
  at: number;
  pending: number;
  leased: number;
  oldestPendingAgeS: number;
  openDeadLetters: number;
}

export interface TargetNow {
  name: string;
  pending: number;
  leased: number;
  delivered: number;
  dead: number;
  discarded: number;
  oldestPendingAgeS: number;
  /** From the forwarder running in this process; null when none runs here. */
  breaker: 'closed' | 'open' | 'half-open' | null;
  /**
   * From the forwarder running in this process: it stands by because another process delivers this target
   * (a SQLite file is delivered by one process at a time) — who (`host:pid:…`) and until when its lock runs
   * (epoch ms) unless renewed. Null otherwise.
   */
  standby: { holder: string; until: number } | null;
}

export interface Overview {
  generatedAt: number;
  window: WindowName;
  from: number;
  to: number;
  bucketMs: number;
  /** Start of each bucket, epoch ms. */
  buckets: number[];
  records: { received: number[]; accepted: number[]; skipped: number[]; rejected: number[] };
  rejectsByCode: Record<string, number[]>;
  deliveries: TimeSeries['deliveries'];
  deadLetters: number[];
  queue: QueueSample[];
  totals: { records: StoreStats['records']; deliveries: StoreStats['deliveries']; openDeadLetters: number; pending: number; oldestPendingAgeS: number };
  targets: TargetNow[];
  alerts: Alert[];
}

const DAY = 86_400_000;

export interface OverviewService {
  read(window: WindowName): Promise<Overview>;
  alerts(): Promise<Alert[]>;
  start(): void;
  stop(): void;
}

export function createOverview(o: ResolvedAdminOptions): OverviewService {
  const samples: QueueSample[] = [];
  const cache = new Map<string, { at: number; value: Promise<unknown> }>();
  let timer: NodeJS.Timeout | undefined;

  async function sample(): Promise<StoreStats> {
    const now = o.clock();
    const stats = await o.store.stats({ now: new Date(now) });
    const sample: QueueSample = {
      at: now,
      pending: stats.deliveries.pending,
      leased: Object.values(stats.targets).reduce((n, t) => n + t.leased, 0),
      oldestPendingAgeS: Math.round((stats.oldestPendingAgeMs ?? 0) / 1000),
      openDeadLetters: stats.openDeadLetters,
    };
    // A clock that went back forgets the samples of its future; reads within a second of the last sample
    // replace it (the latest state wins).
    while (samples.length > 0 && samples[samples.length - 1]!.at > now) samples.pop();
    const last = samples[samples.length - 1];
    if (last && now - last.at < 1000) samples[samples.length - 1] = sample;
    else samples.push(sample);
    while (samples.length > 0 && samples[0]!.at < now - DAY) samples.shift();
    return stats;
  }

  function cached<T>(key: string, make: () => Promise<T>): Promise<T> {
    const now = o.clock();
    const hit = cache.get(key);
    // A clock that went back (tests, a corrected system clock) never serves an answer from its future.
    if (hit && now >= hit.at && now - hit.at < o.cacheMs) return hit.value as Promise<T>;
    const value = make();
    cache.set(key, { at: now, value });
    value.catch(() => cache.delete(key));
    return value;
  }

  function series(from: number, to: number, bucketMs: number): Promise<TimeSeries> {
    const store = o.store;
    if (typeof store.timeSeries !== 'function') throw unsupported('this store cannot count records per minute (it has no timeSeries method)');
    return store.timeSeries({ from: new Date(from), to: new Date(to), bucketMs });
  }

  type ForwarderTargets = Record<string, { breaker?: { state?: unknown }; standby?: { holder?: unknown; until?: unknown } } | undefined>;

  function forwarderTargets(): ForwarderTargets {
    return (o.forwarder?.stats?.() as { targets?: ForwarderTargets } | undefined)?.targets ?? {};
  }

  function breakers(targets = forwarderTargets()): Record<string, TargetNow['breaker']> {
    const out: Record<string, TargetNow['breaker']> = {};
    for (const [name, t] of Object.entries(targets)) {
      const state = t?.breaker?.state;
      if (state === 'open' || state === 'closed' || state === 'half-open') out[name] = state;
    }
    return out;
  }

  function standbys(targets: ForwarderTargets): Record<string, NonNullable<TargetNow['standby']>> {
    const out: Record<string, NonNullable<TargetNow['standby']>> = {};
    for (const [name, t] of Object.entries(targets)) {
      const s = t?.standby;
      if (s && typeof s.holder === 'string' && s.until instanceof Date) out[name] = { holder: s.holder, until: s.until.getTime() };
    }
    return out;
  }

  async function computeAlerts(stats: StoreStats): Promise<Alert[]> {
    const minutes = Math.max(5, o.alerts.deadLetterWindowMinutes);
    const to = o.clock() + 1;
    const recent = await series(to - minutes * 60_000, to, 60_000);
    return evaluateAlerts({ stats, recent, breakers: breakers(), thresholds: o.alerts, now: to - 1 });
  }

  return {
    read(window) {
      return cached(`overview:${window}`, async () => {
        const { spanMs, bucketMs } = WINDOWS[window];
        const now = o.clock();
        const to = Math.floor(now / bucketMs) * bucketMs + bucketMs;
        const from = to - spanMs;
        const [s, stats] = await Promise.all([series(from, to, bucketMs), sample()]);
        const alerts = await computeAlerts(stats);
        const fwd = forwarderTargets();
        const breaker = breakers(fwd);
        const standby = standbys(fwd);
        const names = [...new Set([...Object.keys(stats.targets), ...Object.keys(breaker), ...Object.keys(s.deliveries)])].sort();
        return {
          generatedAt: now,
          window,
          from,
          to,
          bucketMs,
          buckets: Array.from({ length: s.buckets }, (_, i) => from + i * bucketMs),
          records: {
            received: s.records.accepted.map((n, i) => n + s.records.skipped[i]! + s.records.rejected[i]!),
            ...s.records,
          },
          rejectsByCode: s.rejectsByCode,
          deliveries: s.deliveries,
          deadLetters: s.deadLetters,
          queue: samples.filter((q) => q.at >= from),
          totals: {
            records: stats.records,
            deliveries: stats.deliveries,
            openDeadLetters: stats.openDeadLetters,
            pending: stats.deliveries.pending,
            oldestPendingAgeS: Math.round((stats.oldestPendingAgeMs ?? 0) / 1000),
          },
          targets: names.map((name) => {
            const t = stats.targets[name];
            return {
              name,
              pending: t?.pending ?? 0,
              leased: t?.leased ?? 0,
              delivered: t?.delivered ?? 0,
              dead: t?.dead ?? 0,
              discarded: t?.discarded ?? 0,
              oldestPendingAgeS: Math.round((t?.oldestPendingAgeMs ?? 0) / 1000),
              breaker: breaker[name] ?? null,
              standby: standby[name] ?? null,
            };
          }),
          alerts,
        } satisfies Overview;
      });
    },
    alerts() {
      return cached('alerts', async () => computeAlerts(await sample()));
    },
    start() {
      if (timer || o.sampleIntervalMs <= 0) return;
      timer = setInterval(() => {
        sample().catch((error: unknown) => o.logger?.warn({ event: 'admin:sample-failed', error: (error as Error)?.message }, 'admin panel: sampling the queue failed'));
      }, o.sampleIntervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
