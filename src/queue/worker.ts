/**
 * The queue worker: the forwarder fed by the queue instead of by claims. Each configured target gets a
 * consumer (prefetch = how many messages it holds at once), and what arrives goes through the very same
 * target runner as the polling forwarder — batching, concurrency, retry policy, circuit breaker, metrics
 * and events — because the runner's "store" here is a thin layer that hands it queued deliveries as if
 * it had claimed them, and passes its settling through to the real store:
 *
 *   message ──▶ runner sends ──▶ target answers ──▶ store.ack / retryLater / deadLetter (relay's token) ──▶ message acked
 *
 * A message is acked only after the store took the outcome (or said the row is no longer this message's:
 * LEASE_LOST, which is how a stale duplicate ends). If the store fails, the message is held a while
 * (`settleRetryMs`, growing while the store keeps failing) and given back to be sent again; the
 * target's idempotency key makes that harmless. A retry is not a
 * delayed message: retryLater puts the row back in the outbox until it is due, and the relay publishes it
 * again then. A row the runner no longer sends (its lease ran too short) is dropped from the queue; the
 * relay publishes it again when the lease is over.
 *
 *   const worker = createQueueWorker({ store, queue, targets: config.targets, env: process.env, prefetch: 50 });
 *   await worker.start();
 *   ...
 *   await worker.stop(); // drains: sends in flight are settled, unsent messages go back to the queue
 */
import { createForwarder } from '../forwarder/forwarder.ts';
import type { Forwarder, ForwarderOptions, ForwarderStats, ForwarderStore } from '../forwarder/forwarder.ts';
import { OptionsError } from '../errors.ts';
import { LeaseLostError, StoreNotFoundError } from '../ports/errors.ts';
import type { ClaimedDelivery, LeaseRef, OutboxStore } from '../ports/store.ts';
import { QueueStateError } from './errors.ts';
import type { Consumer, Queue, QueuedDelivery, QueueVerdict } from './port.ts';

export interface QueueWorkerOptions extends Omit<ForwarderOptions, 'store' | 'leaseMs' | 'batchSize' | 'pollIntervalMs'> {
  /** Where deliveries are settled: any store adapter. */
  store: Pick<OutboxStore, 'ack' | 'retryLater' | 'deadLetter' | 'stats'> & Partial<Pick<OutboxStore, 'keyLocks'>>;
  queue: Pick<Queue, 'consume'>;
  /** Messages each target's consumer holds at once: the worker's concurrency limit per target. Default 50. */
  prefetch?: number;
  /**
   * How long a message whose outcome the store could not take is held before it goes back to the queue, ms;
   * while the store keeps failing, the hold grows to as long as it has been failing, up to 30 s. Default 1000.
   */
  settleRetryMs?: number;
}

export interface QueueWorkerStats extends ForwarderStats {
  queue: {
    /** Messages received and not yet taken by the target's runner. */
    buffered: number;
    /** Messages the runner took and has not settled yet. */
    inFlight: number;
    /** Messages dropped because their row's lease was too short to send safely; the relay publishes those rows again. */
    expired: number;
  };
}

export interface QueueWorker extends Forwarder {
  stats(): QueueWorkerStats;
}

export const QUEUE_WORKER_DEFAULTS = { prefetch: 50, settleRetryMs: 1000 } as const;

const OWN = ['queue', 'prefetch', 'settleRetryMs'];
const PASSED = ['store', 'targets', 'env', 'worker', 'statsIntervalMs', 'logger', 'clock', 'random', 'metrics'];
const WHERE = 'createQueueWorker';

/** The runner's lease check is against the message's own lease; ours is never the limit. */
const NO_LEASE_LIMIT = 2 ** 31 - 1;
const SWEEP_MS = 1000;
const MAX_SETTLE_HOLD_MS = 30_000;

interface Pending {
  delivery: QueuedDelivery;
  done(verdict: QueueVerdict): void;
}

export function createQueueWorker(options: QueueWorkerOptions): QueueWorker {
  if (options === null || typeof options !== 'object') throw new OptionsError(`${WHERE}: options must be an object`);
  for (const key of Object.keys(options)) {
    if (!OWN.includes(key) && !PASSED.includes(key)) throw new OptionsError(`${WHERE}: unknown option "${key}" (known: ${[...PASSED, ...OWN].join(', ')})`, { option: key });
  }
  const { store, queue, prefetch = QUEUE_WORKER_DEFAULTS.prefetch, settleRetryMs = QUEUE_WORKER_DEFAULTS.settleRetryMs, ...rest } = options;
  if (!store || typeof store.ack !== 'function') throw new OptionsError(`${WHERE}: option "store" must be a store`, { option: 'store' });
  if (!queue || typeof queue.consume !== 'function') throw new OptionsError(`${WHERE}: option "queue" must be a queue`, { option: 'queue' });
  if (!Number.isSafeInteger(prefetch) || prefetch < 1 || prefetch > 65_535) throw new OptionsError(`${WHERE}: prefetch must be a whole number from 1 to 65535`, { option: 'prefetch' });
  if (!Number.isSafeInteger(settleRetryMs) || settleRetryMs < 0) throw new OptionsError(`${WHERE}: settleRetryMs must be a whole number >= 0`, { option: 'settleRetryMs' });

  const buffers = new Map<string, Pending[]>();
  const inFlight = new Map<string, Pending[]>();
  let expired = 0;
  const warned = new Set<string>();
  const clock = rest.clock ?? Date.now;
  const log = rest.logger;

  const keyOf = (ref: LeaseRef) => `${ref.id}\n${ref.leaseToken}`;

  function margin(target: string): number {
    return 2 * (forwarder.targets[target]?.adapter.timeoutMs ?? 0);
  }

  /** The runner claims: it gets what the queue delivered, as if it had leased it itself. */
  function take(target: string, limit: number, now: number): ClaimedDelivery[] {
    const buffer = buffers.get(target) ?? [];
    const out: ClaimedDelivery[] = [];
    while (out.length < limit && buffer.length > 0) {
      const p = buffer.shift()!;
      if (p.delivery.leaseExpiresAt.getTime() - now < margin(target)) {
        expired += 1;
        p.done('ack');
        if (!warned.has(target)) {
          warned.add(target);
          log?.warn(
            { target, rowId: p.delivery.id, leaseLeftMs: p.delivery.leaseExpiresAt.getTime() - now, neededMs: margin(target) },
            'queue worker: a message arrived with too little of its hand-over lease left to send it safely; it is published again later. If this repeats, raise the servers\' --handover-ms or add workers',
          );
        }
        continue;
      }
      const key = keyOf(p.delivery);
      inFlight.set(key, [...(inFlight.get(key) ?? []), p]);
      const { redelivered: _, ...claimed } = p.delivery;
      out.push(claimed);
    }
    return out;
  }

  function release(ref: LeaseRef): Pending | undefined {
    const key = keyOf(ref);
    const list = inFlight.get(key);
    const p = list?.shift();
    if (list && list.length === 0) inFlight.delete(key);
    return p;
  }

  /** Since when the store has been failing to settle (undefined: it is not): the hold grows with it. */
  let failingSince: number | undefined;

  /** Settles in the store first; the message is acked only once the store took it (or the row is no longer ours). */
  async function settle<T>(ref: LeaseRef, call: () => Promise<T>): Promise<T> {
    const p = release(ref);
    try {
      const result = await call();
      failingSince = undefined;
      p?.done('ack');
      return result;
    } catch (error) {
      if (error instanceof LeaseLostError || error instanceof StoreNotFoundError) p?.done('ack');
      else if (p) {
        // The store is failing (PostgreSQL away): hold the message about as long as the store has been
        // failing, so a long outage does not repeat the same sends against the target every second.
        const now = clock();
        failingSince ??= now;
        const hold = Math.min(MAX_SETTLE_HOLD_MS, Math.max(settleRetryMs, now - failingSince));
        setTimeout(() => p.done('retry'), hold).unref();
      }
      throw error;
    }
  }

  const fed: ForwarderStore = {
    claim: async (o) => take(o.target, o.limit, o.now.getTime()),
    ack: (ref, receipt) => settle(ref, () => store.ack(ref, receipt)),
    retryLater: (ref, report) => settle(ref, () => store.retryLater(ref, report)),
    deadLetter: (ref, report) => settle(ref, () => store.deadLetter(ref, report)),
    stats: (o) => store.stats(o),
  };
  // Workers on several machines may hold messages of the same Stripe customer: the store's key locks keep one
  // request in flight per key across all of them, as for polling forwarders.
  if (store.keyLocks !== undefined) fed.keyLocks = (target) => store.keyLocks!(target);

  const forwarder = createForwarder({ ...rest, store: fed, leaseMs: NO_LEASE_LIMIT, batchSize: prefetch, pollIntervalMs: 1000 });
  const consumers: Consumer[] = [];
  let state: 'idle' | 'running' | 'stopping' | 'stopped' = 'idle';
  let stopping: Promise<void> | undefined;
  let wakeScheduled = false;
  let sweeper: NodeJS.Timeout | undefined;

  // One wake per turn, however many messages arrived in it.
  function wakeSoon(): void {
    if (wakeScheduled) return;
    wakeScheduled = true;
    setImmediate(() => {
      wakeScheduled = false;
      if (state === 'running') forwarder.wake();
    });
  }

  /** Rows the runner took but will not send any more (lease too short): drop their messages. */
  function sweep(): void {
    const now = clock();
    for (const [key, list] of inFlight) {
      const target = list[0]?.delivery.target ?? '';
      const keep = list.filter((p) => {
        if (p.delivery.leaseExpiresAt.getTime() - now >= margin(target)) return true;
        expired += 1;
        p.done('ack');
        return false;
      });
      if (keep.length === 0) inFlight.delete(key);
      else inFlight.set(key, keep);
    }
  }

  function handler(target: string) {
    return (delivery: QueuedDelivery): Promise<QueueVerdict> => {
      if (state !== 'running') return Promise.resolve('retry');
      return new Promise<QueueVerdict>((resolve) => {
        let settled = false;
        const p: Pending = {
          delivery,
          done(verdict) {
            if (settled) return;
            settled = true;
            resolve(verdict);
          },
        };
        buffers.get(target)!.push(p);
        wakeSoon();
      });
    };
  }

  function giveBack(list: Iterable<Pending>): void {
    for (const p of list) p.done('retry');
  }

  function stop(): Promise<void> {
    stopping ??= (async () => {
      state = 'stopping';
      // No new messages; those received but not yet taken go back to the queue at once.
      const stops = consumers.map((c) => c.stop());
      for (const buffer of buffers.values()) giveBack(buffer.splice(0));
      // Sends in flight are settled (their messages acked); claimed-but-unsent rows are handed back to the outbox.
      await forwarder.stop();
      for (const list of inFlight.values()) giveBack(list);
      inFlight.clear();
      await Promise.all(stops);
      clearInterval(sweeper);
      state = 'stopped';
    })();
    return stopping;
  }

  return {
    ...forwarder,
    stop,

    async start() {
      if (state === 'running') return;
      if (state !== 'idle') throw new QueueStateError(`The queue worker cannot start: it is ${state}`, { state });
      state = 'running';
      await forwarder.start();
      sweeper = setInterval(sweep, SWEEP_MS);
      sweeper.unref();
      try {
        for (const target of Object.keys(forwarder.targets)) {
          buffers.set(target, []);
          consumers.push(await queue.consume(target, { prefetch }, handler(target)));
        }
      } catch (error) {
        await stop();
        throw error;
      }
      log?.info({ worker: forwarder.options.worker, targets: Object.keys(forwarder.targets), prefetch }, 'queue worker started');
    },

    stats(): QueueWorkerStats {
      let buffered = 0;
      for (const b of buffers.values()) buffered += b.length;
      let held = 0;
      for (const l of inFlight.values()) held += l.length;
      return { ...forwarder.stats(), state, queue: { buffered, inFlight: held, expired } };
    },
  };
}
