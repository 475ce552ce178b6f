/**
 * The forwarder: for each configured target, a loop that claims outbox rows with a lease, sends them with
 * the target's preset, and settles every row from the target's answer (see target-runner.ts).
 *
 *   const forwarder = createForwarder({ store, targets: config.targets, env: process.env });
 *   forwarder.events.on('delivery:dead', (d) => ...);
 *   await forwarder.start();
 *   ...
 *   await forwarder.stop(); // waits for the sends in flight to be settled
 *
 * Nothing is marked delivered before the target confirmed it; a worker that dies leaves its rows leased,
 * and another claims them when the lease expires (the idempotency key makes the second send harmless).
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { OptionsError } from '../errors.ts';
import type { OutboxStore, StoreStats } from '../ports/store.ts';
import { createBreaker } from './breaker.ts';
import { resolveTargets } from './config.ts';
import type { Env, ResolvedTarget, TargetConfig } from './config.ts';
import { ForwarderError, ForwarderErrorCodes } from './errors.ts';
import { silentLogger } from './events.ts';
import type { ForwarderEvents, Logger } from './events.ts';
import { createForwarderMetrics } from './metrics.ts';
import type { ForwarderMetrics, MetricsRegistry } from './metrics.ts';
import { createRetryPolicy } from './retry-policy.ts';
import { createSender } from './send.ts';
import { TargetRunner } from './target-runner.ts';
import type { RunnerCounts, TargetStatsSnapshot } from './target-runner.ts';
import { checkNumber, rejectUnknown } from './targets/options.ts';

/** The outbox methods the forwarder uses; with `ackMany` (every adapter has it) confirmed deliveries are settled in batches. */
export type ForwarderStore = Pick<OutboxStore, 'claim' | 'ack' | 'retryLater' | 'deadLetter' | 'stats'> & Partial<Pick<OutboxStore, 'ackMany' | 'heldElsewhere' | 'releaseTarget' | 'keyLocks'>>;

export interface ForwarderOptions {
  /** Any store adapter (SQLite, memory, PostgreSQL): only the outbox methods are used. */
  store: ForwarderStore;
  /** The `targets` section of bilhetagem.config.json, by target name (= the outbox rows' target). */
  targets: Record<string, TargetConfig>;
  /** Where `${VAR}` in `targets` comes from. Default: none (a `${VAR}` without a default fails). */
  env?: Env;
  /** Kept with every attempt. Default `<hostname>:<pid>:<random>`. */
  worker?: string;
  /** How long a claim holds its rows, ms. Must exceed twice every target's timeoutMs. Default 60 000. */
  leaseMs?: number;
  /** How often an idle target looks for due rows, ms. Default 1000. */
  pollIntervalMs?: number;
  /** Most rows one claim takes. Default 100. */
  batchSize?: number;
  /** How often queue gauges (depth, oldest age, open dead letters) are refreshed from the store, ms; 0 = never. Default 10 000. */
  statsIntervalMs?: number;
  /** pino or anything with debug/info/warn/error(obj, msg). Default: silent. */
  logger?: Logger;
  /** Epoch ms; drives breakers, retry times and attempt times. Default `Date.now`. */
  clock?: () => number;
  /** [0, 1) for the retry jitter. Default `Math.random`. */
  random?: () => number;
  /** Metrics to count into: a registry (the server's) or forwarder metrics already made. Default: a registry of its own. */
  metrics?: ForwarderMetrics | MetricsRegistry;
}

export interface ResolvedForwarderOptions {
  worker: string;
  leaseMs: number;
  pollIntervalMs: number;
  batchSize: number;
  statsIntervalMs: number;
}

export const FORWARDER_DEFAULTS = { leaseMs: 60_000, pollIntervalMs: 1000, batchSize: 100, statsIntervalMs: 10_000 } as const;

const KNOWN = ['store', 'targets', 'env', 'worker', 'leaseMs', 'pollIntervalMs', 'batchSize', 'statsIntervalMs', 'logger', 'clock', 'random', 'metrics'];
const WHERE = 'createForwarder';

export interface ForwarderStats {
  worker: string;
  state: 'idle' | 'running' | 'stopping' | 'stopped';
  targets: Record<string, TargetStatsSnapshot & { mapping: string }>;
}

/** What one `runOnce()` did, summed over targets. */
export type CycleSummary = RunnerCounts;

export interface Forwarder {
  /** Starts every target's loop. Refused after stop(). */
  start(): Promise<void>;
  /** Stops claiming, waits for every send in flight to be settled, hands unsent claimed rows back. Idempotent; nothing is acked after it resolves. */
  stop(): Promise<void>;
  readonly events: EventEmitter<ForwarderEvents>;
  stats(): ForwarderStats;
  /** One claim per target, every claimed row sent and settled; for tests and one-shot runs. Refused while started. */
  runOnce(): Promise<CycleSummary>;
  /** Claim now rather than at the next poll (e.g. right after an ingest). */
  wake(): void;
  /** Refreshes the queue gauges now and answers the store's stats. */
  refreshQueueMetrics(): Promise<StoreStats>;
  readonly metrics: ForwarderMetrics;
  readonly options: ResolvedForwarderOptions;
  readonly targets: Readonly<Record<string, ResolvedTarget>>;
}

function isForwarderMetrics(m: ForwarderMetrics | MetricsRegistry): m is ForwarderMetrics {
  return 'deliveries' in m;
}

export function createForwarder(options: ForwarderOptions): Forwarder {
  if (options === null || typeof options !== 'object') throw new OptionsError(`${WHERE}: options must be an object`);
  rejectUnknown(options, KNOWN, WHERE);
  const store = options.store;
  if (!store || typeof store.claim !== 'function') throw new OptionsError(`${WHERE}: option "store" must be a store`, { option: 'store' });
  const resolved: ResolvedForwarderOptions = {
    worker: options.worker ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    leaseMs: checkNumber(options.leaseMs ?? FORWARDER_DEFAULTS.leaseMs, 'leaseMs', WHERE, { min: 1, integer: true }),
    pollIntervalMs: checkNumber(options.pollIntervalMs ?? FORWARDER_DEFAULTS.pollIntervalMs, 'pollIntervalMs', WHERE, { min: 1 }),
    batchSize: checkNumber(options.batchSize ?? FORWARDER_DEFAULTS.batchSize, 'batchSize', WHERE, { min: 1, integer: true }),
    statsIntervalMs: checkNumber(options.statsIntervalMs ?? FORWARDER_DEFAULTS.statsIntervalMs, 'statsIntervalMs', WHERE),
  };
  if (typeof resolved.worker !== 'string' || resolved.worker === '') throw new OptionsError(`${WHERE}: option "worker" must be a non-empty string`, { option: 'worker' });
  const clock = options.clock ?? Date.now;
  const random = options.random ?? Math.random;
  const logger = options.logger ?? silentLogger;
  const metrics = options.metrics === undefined ? createForwarderMetrics() : isForwarderMetrics(options.metrics) ? options.metrics : createForwarderMetrics(options.metrics);
  const targets = resolveTargets(options.targets, { env: options.env ?? {} });
  const events = new EventEmitter<ForwarderEvents>();

  const runners = new Map<string, TargetRunner>();
  for (const t of Object.values(targets)) {
    if (resolved.leaseMs <= 2 * t.adapter.timeoutMs) {
      throw new OptionsError(`${WHERE}: leaseMs (${resolved.leaseMs}) must be more than twice the timeoutMs of target "${t.name}" (${t.adapter.timeoutMs})`, {
        option: 'leaseMs',
        target: t.name,
      });
    }
    const breaker = createBreaker({ ...t.breaker, name: t.name, now: clock });
    const runner = new TargetRunner({
      name: t.name,
      adapter: t.adapter,
      policy: createRetryPolicy({ ...t.retry, random }),
      breaker,
      sender: createSender({ connections: t.adapter.concurrency, timeoutMs: t.adapter.timeoutMs }),
      store,
      worker: resolved.worker,
      leaseMs: resolved.leaseMs,
      pollIntervalMs: resolved.pollIntervalMs,
      batchSize: resolved.batchSize,
      clock,
      logger,
      metrics,
      events,
    });
    metrics.setBreaker(t.name, 'closed');
    breaker.events.on('breaker:changed', (change) => {
      metrics.setBreaker(t.name, change.to);
      metrics.breakerTransitions.inc({ target: t.name, to: change.to });
      logger[change.to === 'open' ? 'warn' : 'info']({ target: t.name, from: change.from, to: change.to, reason: change.reason }, 'circuit breaker changed');
      events.emit('breaker:changed', change);
      runner.onBreakerChange(change.to);
    });
    runners.set(t.name, runner);
  }

  let state: ForwarderStats['state'] = 'idle';
  let statsTimer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  let cycling = false;
  let warnedUnknown = false;

  async function refreshQueueMetrics(): Promise<StoreStats> {
    const stats = await store.stats({ now: new Date(clock()) });
    metrics.setQueue(stats);
    if (!warnedUnknown) {
      warnedUnknown = true;
      const unknown = Object.entries(stats.targets).filter(([name, t]) => !runners.has(name) && t.pending > 0);
      for (const [name, t] of unknown) {
        logger.warn({ target: name, pending: t.pending }, `outbox rows wait for target "${name}", which is not configured: they are not sent`);
      }
    }
    return stats;
  }

  function refreshInBackground(): void {
    refreshQueueMetrics().catch((error: unknown) => {
      const err = error instanceof Error ? error : new Error(String(error));
      logger.error({ err }, 'forwarder: refreshing queue stats failed');
      events.emit('forwarder:error', { target: '*', during: 'stats', error: err });
    });
  }

  return {
    events,
    metrics,
    options: resolved,
    targets,

    async start() {
      if (state === 'running') return;
      if (state !== 'idle') throw new ForwarderError(ForwarderErrorCodes.FORWARDER_STATE, `The forwarder cannot start: it is ${state}`, { details: { state } });
      if (cycling) throw new ForwarderError(ForwarderErrorCodes.FORWARDER_STATE, 'The forwarder cannot start while runOnce() is running', { details: { state } });
      state = 'running';
      logger.info({ worker: resolved.worker, targets: [...runners.keys()] }, 'forwarder started');
      for (const r of runners.values()) r.start();
      if (resolved.statsIntervalMs > 0) {
        refreshInBackground();
        statsTimer = setInterval(refreshInBackground, resolved.statsIntervalMs);
        statsTimer.unref();
      }
    },

    stop() {
      stopping ??= (async () => {
        state = 'stopping';
        if (statsTimer) clearInterval(statsTimer);
        await Promise.all([...runners.values()].map((r) => r.stop()));
        state = 'stopped';
        logger.info({ worker: resolved.worker }, 'forwarder stopped');
      })();
      return stopping;
    },

    stats() {
      return {
        worker: resolved.worker,
        state,
        targets: Object.fromEntries([...runners.entries()].map(([name, r]) => [name, { ...r.snapshot(), mapping: targets[name]!.mapping }])),
      };
    },

    async runOnce() {
      if (state !== 'idle') throw new ForwarderError(ForwarderErrorCodes.FORWARDER_STATE, `runOnce() is for a forwarder that is not started; it is ${state}`, { details: { state } });
      if (cycling) throw new ForwarderError(ForwarderErrorCodes.FORWARDER_STATE, 'runOnce() is already running', { details: { state } });
      cycling = true;
      try {
        const before = [...runners.values()].map((r) => ({ ...r.counts }));
        await Promise.all([...runners.values()].map((r) => r.cycle()));
        const sum: CycleSummary = { claimed: 0, requests: 0, delivered: 0, duplicates: 0, retried: 0, dead: 0, leaseLost: 0 };
        [...runners.values()].forEach((r, i) => {
          for (const k of Object.keys(sum) as (keyof CycleSummary)[]) sum[k] += r.counts[k] - before[i]![k];
        });
        return sum;
      } finally {
        cycling = false;
      }
    },

    wake() {
      for (const r of runners.values()) r.wake();
    },

    refreshQueueMetrics,
  };
}
