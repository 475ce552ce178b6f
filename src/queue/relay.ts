/**
 * The relay: moves due outbox rows onto the queue, one loop per target. It claims rows with a lease —
 * the hand-over lease — publishes them, and is done once the broker confirmed them. It writes nothing
 * else: the row stays pending in the outbox, leased to the relay, and the worker that delivers it settles
 * it with the token the message carries.
 *
 *   const relay = createRelay({ store, queue, targets: ['lago'] });
 *   await relay.start();   // each ingest server runs one; they never claim the same row
 *   ...
 *   await relay.stop();
 *
 * Why nothing is lost: a row is only ever claimed, never removed, by the relay. If the process dies
 * between claim and confirm, or the message is lost, dead-lettered or stuck behind a backlog, the lease
 * runs out and a relay (this one or another) claims the row again and publishes it with a new token; a
 * worker still holding the old message then gets LEASE_LOST when it settles, and the second send is
 * answered "already have it" by the target. Retries work the same way: a worker's retryLater releases
 * the row until its next attempt, and the relay publishes it again when it is due.
 *
 * The lease should be far longer than a message normally waits in the queue; `maxQueued` keeps that wait
 * bounded by not publishing while a target's queue is that deep.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { OptionsError } from '../errors.ts';
import type { ClaimedDelivery, OutboxStore } from '../ports/store.ts';
import { QueueStateError } from './errors.ts';
import { checkTarget } from './message.ts';
import type { Logger, Queue } from './port.ts';
import { silentLogger } from './port.ts';

export interface RelayOptions {
  /** `claim`, and `releaseTarget` at stop when the store has it (SQLite: another process may take the targets over at once). */
  store: Pick<OutboxStore, 'claim'> & Partial<Pick<OutboxStore, 'releaseTarget'>>;
  queue: Pick<Queue, 'publish' | 'depth'>;
  /** The targets whose rows it relays (the outbox rows' target names). */
  targets: readonly string[];
  /** The lease holder, kept with each attempt. Default `relay:<hostname>:<pid>:<random>`. */
  worker?: string;
  /** The hand-over lease: how long the queue has to get a row delivered before it is published again, ms. Default 300 000. */
  leaseMs?: number;
  /** Most rows one claim takes (and one publish carries). Default 100. */
  batchSize?: number;
  /** How often an idle target looks for due rows, ms. Default 500. */
  pollIntervalMs?: number;
  /** No publishing while a target's queue holds this many messages; 0 = no limit. Default 10 000. */
  maxQueued?: number;
  /** Backoff after a failed claim or publish: doubles from pollIntervalMs up to this, ms. Default 5000. */
  maxBackoffMs?: number;
  logger?: Logger;
  /** Epoch ms. Default Date.now. */
  clock?: () => number;
}

export interface ResolvedRelayOptions {
  worker: string;
  leaseMs: number;
  batchSize: number;
  pollIntervalMs: number;
  maxQueued: number;
  maxBackoffMs: number;
}

export const RELAY_DEFAULTS = { leaseMs: 300_000, batchSize: 100, pollIntervalMs: 500, maxQueued: 10_000, maxBackoffMs: 5000 } as const;

export interface RelayTargetStats {
  claimed: number;
  published: number;
  /** Publishes that failed (the rows were kept and tried again, or left to their lease). */
  failedPublishes: number;
  /** Claimed rows whose lease ran short before a publish succeeded: left for a later claim. */
  abandoned: number;
  /** Claimed rows waiting to be published now. */
  holding: number;
  /** Messages waiting in the target's queue when last asked. */
  queued: number | null;
}

export interface RelayStats {
  worker: string;
  state: 'idle' | 'running' | 'stopping' | 'stopped';
  targets: Record<string, RelayTargetStats>;
}

export interface RelayEvents {
  'relay:published': [{ target: string; count: number }];
  'relay:error': [{ target: string; during: 'claim' | 'publish' | 'depth' | 'release'; error: Error }];
}

export interface Relay {
  start(): Promise<void>;
  /** Stops claiming and waits for the publish in flight. Rows claimed but not confirmed wait for their lease. Idempotent. */
  stop(): Promise<void>;
  /** Claim now rather than at the next poll (e.g. right after an ingest). */
  wake(): void;
  stats(): RelayStats;
  readonly events: EventEmitter<RelayEvents>;
  readonly options: ResolvedRelayOptions;
}

const KNOWN = ['store', 'queue', 'targets', 'worker', 'leaseMs', 'batchSize', 'pollIntervalMs', 'maxQueued', 'maxBackoffMs', 'logger', 'clock'];
const WHERE = 'createRelay';

function positive(value: unknown, option: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw new OptionsError(`${WHERE}: ${option} must be a whole number of at least ${min}`, { option });
  return value;
}

interface Loop {
  name: string;
  stats: RelayTargetStats;
  held: ClaimedDelivery[];
  failures: number;
  wake: (() => void) | undefined;
  woken: boolean;
  done: Promise<void> | undefined;
}

export function createRelay(options: RelayOptions): Relay {
  if (options === null || typeof options !== 'object') throw new OptionsError(`${WHERE}: options must be an object`);
  for (const key of Object.keys(options)) if (!KNOWN.includes(key)) throw new OptionsError(`${WHERE}: unknown option "${key}" (known: ${KNOWN.join(', ')})`, { option: key });
  const { store, queue } = options;
  if (!store || typeof store.claim !== 'function') throw new OptionsError(`${WHERE}: option "store" must be a store`, { option: 'store' });
  if (!queue || typeof queue.publish !== 'function') throw new OptionsError(`${WHERE}: option "queue" must be a queue`, { option: 'queue' });
  if (!Array.isArray(options.targets)) throw new OptionsError(`${WHERE}: option "targets" must be an array of target names`, { option: 'targets' });
  const targets = [...new Set(options.targets.map((t) => checkTarget(t)))];
  const o: ResolvedRelayOptions = {
    worker: options.worker ?? `relay:${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    leaseMs: positive(options.leaseMs ?? RELAY_DEFAULTS.leaseMs, 'leaseMs', 1),
    batchSize: positive(options.batchSize ?? RELAY_DEFAULTS.batchSize, 'batchSize', 1),
    pollIntervalMs: positive(options.pollIntervalMs ?? RELAY_DEFAULTS.pollIntervalMs, 'pollIntervalMs', 1),
    maxQueued: positive(options.maxQueued ?? RELAY_DEFAULTS.maxQueued, 'maxQueued', 0),
    maxBackoffMs: positive(options.maxBackoffMs ?? RELAY_DEFAULTS.maxBackoffMs, 'maxBackoffMs', 1),
  };
  if (typeof o.worker !== 'string' || o.worker === '') throw new OptionsError(`${WHERE}: option "worker" must be a non-empty string`, { option: 'worker' });
  const clock = options.clock ?? Date.now;
  const log = options.logger ?? silentLogger;
  const events = new EventEmitter<RelayEvents>();
  // A claimed row is published only while a good part of its lease is left: a message that arrives after
  // the row was claimed again is wasted work (its token is stale).
  const keepFor = Math.ceil(o.leaseMs / 4);

  const loops = new Map<string, Loop>(
    targets.map((name) => [name, { name, held: [], failures: 0, wake: undefined, woken: false, done: undefined, stats: { claimed: 0, published: 0, failedPublishes: 0, abandoned: 0, holding: 0, queued: null } }]),
  );
  let state: RelayStats['state'] = 'idle';
  let stopping: Promise<void> | undefined;

  function sleep(loop: Loop, ms: number): Promise<void> {
    if (loop.woken || state !== 'running') {
      loop.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        loop.wake = undefined;
        loop.woken = false;
        resolve();
      }
      loop.wake = done;
    });
  }

  function failed(loop: Loop, during: 'claim' | 'publish' | 'depth', error: unknown): number {
    const err = error instanceof Error ? error : new Error(String(error));
    loop.failures += 1;
    const level = loop.failures === 1 ? 'warn' : 'debug';
    log[level]({ target: loop.name, during, err, failures: loop.failures }, `relay: ${during} failed; trying again`);
    events.emit('relay:error', { target: loop.name, during, error: err });
    return Math.min(o.maxBackoffMs, o.pollIntervalMs * 2 ** Math.min(loop.failures - 1, 16));
  }

  /** One step: publish what is held, or claim more. Answers how long to wait before the next step. */
  async function step(loop: Loop): Promise<number> {
    if (loop.held.length === 0) {
      let limit = o.batchSize;
      if (o.maxQueued > 0) {
        try {
          loop.stats.queued = (await queue.depth(loop.name)).waiting;
        } catch (error) {
          return failed(loop, 'depth', error);
        }
        limit = Math.min(limit, o.maxQueued - loop.stats.queued);
        if (limit <= 0) return o.pollIntervalMs;
      }
      try {
        // handOver: the workers that settle these rows do it through connections of their own.
        loop.held = await store.claim({ target: loop.name, limit, leaseMs: o.leaseMs, worker: o.worker, now: new Date(clock()), handOver: true });
      } catch (error) {
        return failed(loop, 'claim', error);
      }
      loop.stats.claimed += loop.held.length;
      if (loop.held.length === 0) {
        loop.failures = 0;
        return o.pollIntervalMs;
      }
    }
    const now = clock();
    const fresh = loop.held.filter((d) => d.leaseExpiresAt.getTime() - now >= keepFor);
    if (fresh.length < loop.held.length) {
      loop.stats.abandoned += loop.held.length - fresh.length;
      log.warn({ target: loop.name, rows: loop.held.length - fresh.length }, 'relay: rows held too long without a confirmed publish; leaving them to their lease');
    }
    loop.held = fresh;
    loop.stats.holding = fresh.length;
    if (fresh.length === 0) return 0;
    try {
      await queue.publish(fresh);
    } catch (error) {
      loop.stats.failedPublishes += 1;
      return failed(loop, 'publish', error);
    }
    loop.held = [];
    loop.stats.holding = 0;
    loop.failures = 0;
    loop.stats.published += fresh.length;
    events.emit('relay:published', { target: loop.name, count: fresh.length });
    log.debug({ target: loop.name, count: fresh.length }, 'relay: handed over');
    return 0; // a full batch may mean more are due
  }

  async function run(loop: Loop): Promise<void> {
    while (state === 'running') {
      const wait = await step(loop);
      if (wait > 0) await sleep(loop, wait);
    }
    if (loop.held.length > 0) {
      log.info({ target: loop.name, rows: loop.held.length }, 'relay: stopped with rows not handed over; they come back when their lease runs out');
    }
  }

  return {
    events,
    options: o,

    async start() {
      if (state === 'running') return;
      if (state !== 'idle') throw new QueueStateError(`The relay cannot start: it is ${state}`, { state });
      state = 'running';
      log.info({ worker: o.worker, targets, leaseMs: o.leaseMs }, 'relay started');
      for (const loop of loops.values()) loop.done = run(loop);
    },

    stop() {
      stopping ??= (async () => {
        const was = state;
        state = 'stopping';
        for (const loop of loops.values()) loop.wake?.();
        await Promise.all([...loops.values()].map((l) => l.done));
        // The rows handed over keep their leases, written on the rows; the targets' locks go now (SQLite).
        if (store.releaseTarget !== undefined) {
          for (const loop of loops.values()) {
            try {
              await store.releaseTarget(loop.name);
            } catch (error) {
              // Nothing lost: the lock expires by itself.
              const err = error instanceof Error ? error : new Error(String(error));
              log.warn({ target: loop.name, during: 'release', err }, 'relay: letting the target go failed; another process takes it over when its lock expires');
              events.emit('relay:error', { target: loop.name, during: 'release', error: err });
            }
          }
        }
        state = 'stopped';
        if (was === 'running') log.info({ worker: o.worker }, 'relay stopped');
      })();
      return stopping;
    },

    wake() {
      for (const loop of loops.values()) {
        if (loop.wake) loop.wake();
        else loop.woken = true;
      }
    },

    stats() {
      return { worker: o.worker, state, targets: Object.fromEntries([...loops.values()].map((l) => [l.name, { ...l.stats }])) };
    },
  };
}
