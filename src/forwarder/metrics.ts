/**
 * A tiny Prometheus text-format registry (counters, gauges, histograms with labels) and the forwarder's
 * metrics on it. `render()` answers the exposition text, so a server can append it to its /metrics.
 */
import type { StoreStats } from '../ports/store.ts';
import type { BreakerState } from './breaker.ts';

type Labels = Record<string, string>;

interface Metric {
  render(): string;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(names: readonly string[], values: readonly string[], extra = ''): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}"`);
  if (extra) parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Series are keyed by their label values in declaration order. */
abstract class Labelled<S> implements Metric {
  protected readonly series = new Map<string, { values: string[]; state: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly type: string,
  ) {}

  protected get(labels: Labels | undefined, init: () => S): S {
    const values = this.labelNames.map((n) => labels?.[n] ?? '');
    const key = values.join('\u0001');
    let s = this.series.get(key);
    if (!s) {
      s = { values, state: init() };
      this.series.set(key, s);
    }
    return s.state;
  }

  protected abstract lines(values: string[], state: S): string[];

  render(): string {
    const out = [`# HELP ${this.name} ${this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${this.name} ${this.type}`];
    for (const { values, state } of this.series.values()) out.push(...this.lines(values, state));
    return `${out.join('\n')}\n`;
  }

  /** Forgets every series (gauges refreshed from a snapshot drop targets that disappeared). */
  clear(): void {
    this.series.clear();
  }
}

export class Counter extends Labelled<{ v: number }> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, labelNames, 'counter');
  }

  inc(labels?: Labels, by = 1): void {
    this.get(labels, () => ({ v: 0 })).v += by;
  }

  /**
   * The series of `labels`, looked up once (on the first inc, so it shows only once counted), for a hot
   * path. Not for a metric that is ever cleared.
   */
  bind(labels?: Labels): { inc(by?: number): void } {
    let state: { v: number } | undefined;
    return {
      inc: (by = 1) => {
        state ??= this.get(labels, () => ({ v: 0 }));
        state.v += by;
      },
    };
  }

  value(labels?: Labels): number {
    return this.get(labels, () => ({ v: 0 })).v;
  }

  protected lines(values: string[], state: { v: number }): string[] {
    return [`${this.name}${labelText(this.labelNames, values)} ${formatValue(state.v)}`];
  }
}

export class Gauge extends Labelled<{ v: number }> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, labelNames, 'gauge');
  }

  set(labels: Labels | undefined, value: number): void {
    this.get(labels, () => ({ v: 0 })).v = value;
  }

  value(labels?: Labels): number {
    return this.get(labels, () => ({ v: 0 })).v;
  }

  protected lines(values: string[], state: { v: number }): string[] {
    return [`${this.name}${labelText(this.labelNames, values)} ${formatValue(state.v)}`];
  }
}

interface HistogramState {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Labelled<HistogramState> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames, 'histogram');
  }

  observe(labels: Labels | undefined, value: number): void {
    this.record(this.state(labels), value);
  }

  /**
   * The series of `labels`, looked up once (on the first observation, so it shows only once observed), for
   * a hot path. Not for a metric that is ever cleared.
   */
  bind(labels?: Labels): { observe(value: number): void } {
    let state: HistogramState | undefined;
    return { observe: (value) => this.record((state ??= this.state(labels)), value) };
  }

  private state(labels: Labels | undefined): HistogramState {
    return this.get(labels, () => ({ counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 }));
  }

  private record(s: HistogramState, value: number): void {
    // Stored per bucket; made cumulative when rendered.
    const buckets = this.buckets;
    for (let i = 0; i < buckets.length; i++) {
      if (value <= buckets[i]!) {
        s.counts[i]! += 1;
        break;
      }
    }
    s.sum += value;
    s.count += 1;
  }

  protected lines(values: string[], s: HistogramState): string[] {
    const out: string[] = [];
    let cumulative = 0;
    this.buckets.forEach((b, i) => {
      cumulative += s.counts[i]!;
      out.push(`${this.name}_bucket${labelText(this.labelNames, values, `le="${formatValue(b)}"`)} ${cumulative}`);
    });
    out.push(`${this.name}_bucket${labelText(this.labelNames, values, 'le="+Inf"')} ${s.count}`);
    out.push(`${this.name}_sum${labelText(this.labelNames, values)} ${formatValue(s.sum)}`);
    out.push(`${this.name}_count${labelText(this.labelNames, values)} ${s.count}`);
    return out;
  }
}

export interface MetricsRegistry {
  counter(name: string, help: string, labelNames?: readonly string[]): Counter;
  gauge(name: string, help: string, labelNames?: readonly string[]): Gauge;
  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram;
  /** Prometheus text exposition format 0.0.4 of every metric (but the names in `exclude`), in registration order. */
  render(exclude?: ReadonlySet<string>): string;
}

/** Registering a name twice answers the first metric, so two forwarders in one process share their series. */
export function createMetricsRegistry(): MetricsRegistry {
  const metrics = new Map<string, Metric>();
  function add<M extends Metric>(name: string, make: () => M): M {
    const existing = metrics.get(name);
    if (existing) return existing as M;
    const m = make();
    metrics.set(name, m);
    return m;
  }
  return {
    counter: (name, help, labelNames = []) => add(name, () => new Counter(name, help, labelNames)),
    gauge: (name, help, labelNames = []) => add(name, () => new Gauge(name, help, labelNames)),
    histogram: (name, help, labelNames, buckets) => add(name, () => new Histogram(name, help, labelNames, [...buckets].sort((a, b) => a - b))),
    render: (exclude) => [...metrics.entries()].filter(([name]) => !exclude?.has(name)).map(([, m]) => m.render()).join(''),
  };
}

export const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/** The forwarder's metrics; every series is labelled by target name. */
export interface ForwarderMetrics {
  readonly registry: MetricsRegistry;
  /** outcome: delivered | duplicate | retry | dead | lease_lost */
  readonly deliveries: Counter;
  /** Items sent (each try of each item, a batch counts its items). */
  readonly attempts: Counter;
  /** Requests sent, by answer: 2xx, 3xx, 4xx, 5xx or error (no answer). */
  readonly requests: Counter;
  readonly latency: Histogram;
  /** code: MAPPING_REFUSED, HTTP_<status>, MAX_ATTEMPTS, MAX_AGE */
  readonly deadLetters: Counter;
  /** 0 closed, 1 half-open, 2 open. */
  readonly breakerState: Gauge;
  readonly breakerTransitions: Counter;
  /** Keys (a Stripe customer and meter) another worker held when this one asked: its rows of them waited. */
  readonly keyLockRefusals: Counter;
  readonly queuePending: Gauge;
  readonly queueInFlight: Gauge;
  readonly oldestPendingAge: Gauge;
  readonly openDeadLetters: Gauge;
  setBreaker(target: string, state: BreakerState): void;
  /** Refreshes the queue gauges from `store.stats()`. */
  setQueue(stats: StoreStats): void;
  /**
   * The exposition text. `queue: false` leaves out the gauges read from `store.stats()` (queue depth, leased,
   * oldest age, open dead letters), for a server whose /metrics already reads them from the store.
   */
  render(options?: { queue?: boolean }): string;
}

/** The gauges the forwarder copies from `store.stats()`. */
export const QUEUE_METRICS: ReadonlySet<string> = new Set([
  'bilhetagem_outbox_pending',
  'bilhetagem_outbox_leased',
  'bilhetagem_outbox_oldest_pending_age_seconds',
  'bilhetagem_dead_letters_open',
]);

export function createForwarderMetrics(registry: MetricsRegistry = createMetricsRegistry()): ForwarderMetrics {
  const T = ['target'];
  // Same names and meaning as the server's /metrics, which reads them from the store at scrape time.
  const queuePending = registry.gauge('bilhetagem_outbox_pending', 'Deliveries waiting or in flight (the queue depth), per target.', T);
  const queueInFlight = registry.gauge('bilhetagem_outbox_leased', 'Deliveries claimed by a forwarder right now, per target.', T);
  const oldestPendingAge = registry.gauge('bilhetagem_outbox_oldest_pending_age_seconds', 'Age of the oldest pending delivery, per target.', T);
  const openDeadLetters = registry.gauge('bilhetagem_dead_letters_open', 'Dead letters nobody has retried or discarded.');
  const breakerState = registry.gauge('bilhetagem_breaker_state', 'Circuit breaker state per target: 0 closed, 1 half-open, 2 open', T);
  return {
    registry,
    deliveries: registry.counter('bilhetagem_deliveries_total', 'Delivery outcomes per item: delivered, duplicate, retry, dead, lease_lost', ['target', 'outcome']),
    attempts: registry.counter('bilhetagem_delivery_attempts_total', 'Items sent to a target (every try counts)', T),
    requests: registry.counter('bilhetagem_delivery_requests_total', 'Requests sent to a target, by answer class (2xx..5xx, error = no answer)', ['target', 'status']),
    latency: registry.histogram('bilhetagem_delivery_latency_seconds', 'Time from sending a request to its full answer', T, LATENCY_BUCKETS_S),
    deadLetters: registry.counter('bilhetagem_dead_letters_total', 'Rows dead-lettered, by code', ['target', 'code']),
    breakerState,
    breakerTransitions: registry.counter('bilhetagem_breaker_transitions_total', 'Circuit breaker state changes', ['target', 'to']),
    keyLockRefusals: registry.counter(
      'bilhetagem_key_lock_refusals_total',
      'Keys (a Stripe customer and meter) another worker held when this one asked for them; its rows of them waited',
      T,
    ),
    queuePending,
    queueInFlight,
    oldestPendingAge,
    openDeadLetters,
    setBreaker(target, state) {
      breakerState.set({ target }, BREAKER_VALUE[state]);
    },
    setQueue(stats) {
      queuePending.clear();
      queueInFlight.clear();
      oldestPendingAge.clear();
      for (const [target, t] of Object.entries(stats.targets)) {
        queuePending.set({ target }, t.pending);
        queueInFlight.set({ target }, t.leased);
        oldestPendingAge.set({ target }, (t.oldestPendingAgeMs ?? 0) / 1000);
      }
      openDeadLetters.set(undefined, stats.openDeadLetters);
    },
    render: ({ queue = true } = {}) => registry.render(queue ? undefined : QUEUE_METRICS),
  };
}
