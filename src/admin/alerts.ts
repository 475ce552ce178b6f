/**
 * The alerts the panel shows. docs/monitoring/alerts.yml has the same four as Prometheus rules on the
 * /metrics series, with the same default thresholds, for teams that page on them.
 */
import type { StoreStats } from '../ports/store.ts';
import type { TimeSeries } from '../ports/insight-store.ts';
import type { AlertThresholds } from './options.ts';

export type AlertId = 'dead-letters-growing' | 'breaker-open' | 'rejects-spiking' | 'oldest-pending';

export interface Alert {
  id: AlertId;
  severity: 'warning' | 'critical';
  title: string;
  detail: string;
  target?: string;
}

export interface AlertInput {
  stats: StoreStats;
  /** One-minute buckets ending now. */
  recent: TimeSeries;
  breakers: Record<string, 'closed' | 'open' | 'half-open' | null>;
  thresholds: AlertThresholds;
  now: number;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

export function evaluateAlerts({ stats, recent, breakers, thresholds: t }: AlertInput): Alert[] {
  const alerts: Alert[] = [];
  const minutes = recent.buckets;
  const newDead = sum(recent.deadLetters);
  if (newDead > 0 && stats.openDeadLetters > 0) {
    alerts.push({
      id: 'dead-letters-growing',
      severity: 'warning',
      title: 'Dead letters are growing',
      detail: `${newDead} new in the last ${minutes} minutes; ${stats.openDeadLetters} open, waiting for a retry or a discard`,
    });
  }
  for (const [target, state] of Object.entries(breakers)) {
    if (state === 'open') {
      alerts.push({ id: 'breaker-open', severity: 'critical', target, title: `Circuit breaker open: ${target}`, detail: `deliveries to "${target}" are paused after repeated failures; the forwarder probes it and resumes by itself` });
    }
  }
  const last5 = (values: number[]) => sum(values.slice(-5));
  const rejected = last5(recent.records.rejected);
  const received = rejected + last5(recent.records.accepted) + last5(recent.records.skipped);
  if (rejected >= t.rejectMinimum && received > 0 && rejected / received >= t.rejectShare) {
    alerts.push({
      id: 'rejects-spiking',
      severity: 'warning',
      title: 'Rejections are spiking',
      detail: `${rejected} of ${received} records received in the last 5 minutes were rejected (${Math.round((100 * rejected) / received)}%)`,
    });
  }
  const oldest = (stats.oldestPendingAgeMs ?? 0) / 1000;
  if (oldest > t.oldestPendingSeconds) {
    const late = Object.entries(stats.targets)
      .filter(([, s]) => (s.oldestPendingAgeMs ?? 0) / 1000 > t.oldestPendingSeconds)
      .map(([name]) => name);
    alerts.push({
      id: 'oldest-pending',
      severity: oldest > 6 * t.oldestPendingSeconds ? 'critical' : 'warning',
      title: 'Undelivered records are getting old',
      detail: `the oldest undelivered record waits for ${formatAge(oldest)} (threshold ${formatAge(t.oldestPendingSeconds)})${late.length ? `; targets: ${late.join(', ')}` : ''}`,
    });
  }
  return alerts;
}

export function formatAge(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
