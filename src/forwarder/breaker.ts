/**
 * A circuit breaker per target.
 *
 * closed ──(N consecutive failures, or a failure rate over a window)──▶ open ──(cool-down)──▶ half-open
 * half-open lets one probe through: its success closes the breaker, its failure opens it again.
 *
 * The cool-down is `coolDownMs`, unless the failure that opened the breaker came with the target's own
 * Retry-After: then that (at least RETRY_AFTER_MIN_MS, at most RETRY_AFTER_MAX_MS), so a target that says it
 * is back in 8 s is probed after 8 s, and one that asks for 5 minutes is not probed every 30 s meanwhile.
 *
 * No timers: the clock is injected and the open → half-open step happens when someone asks (`state`,
 * `tryAcquire`), so a fake clock drives it in tests and nothing keeps the process alive.
 */
import { EventEmitter } from 'node:events';
import { OptionsError } from '../errors.js';
import { BreakerOpenError } from './errors.js';
import { checkNumber, rejectUnknown } from './targets/options.js';
import type { ItemOutcome } from './targets/types.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

/** A Retry-After shorter than this opens the breaker for this long: one probe a second at most. */
export const RETRY_AFTER_MIN_MS = 1000;
/** A Retry-After longer than this opens the breaker for this long: an hour at most without a probe. */
export const RETRY_AFTER_MAX_MS = 3_600_000;

export interface BreakerChange {
  target: string;
  from: BreakerState;
  to: BreakerState;
  reason: string;
  at: number;
}

export interface BreakerEvents {
  /** Every state change. */
  'breaker:changed': [BreakerChange];
  'breaker:opened': [BreakerChange];
  'breaker:half-opened': [BreakerChange];
  'breaker:closed': [BreakerChange];
}

export interface BreakerOptions {
  /** Target name, for events and errors. Default `target`. */
  name?: string;
  /** Open after this many failures in a row. Default 5. */
  failureThreshold?: number;
  /** Open when at least this share of the window's calls failed (0–1]. Default 0.5. */
  failureRate?: number;
  /** The rate rule needs at least this many calls in the window. Default 20. */
  minRequests?: number;
  /** Length of the failure-rate window, ms. Default 60 000. */
  windowMs?: number;
  /** How long it stays open before a probe, ms. Default 30 000. */
  coolDownMs?: number;
  /** A probe that has not reported after this long no longer blocks another one, ms. Default: coolDownMs. */
  probeTimeoutMs?: number;
  /** Epoch ms. Default `Date.now`. */
  now?: () => number;
}

export interface BreakerSnapshot {
  state: BreakerState;
  consecutiveFailures: number;
  windowCalls: number;
  windowFailures: number;
  /** When a refused caller should ask again (epoch ms). */
  retryAt: number;
}

export interface Breaker {
  readonly name: string;
  readonly state: BreakerState;
  readonly events: EventEmitter<BreakerEvents>;
  /** May a request go now? In half-open, true for exactly one probe at a time. */
  tryAcquire(): boolean;
  success(): void;
  /**
   * A failed call. `retryAfterMs`: how long the target asked to wait (its Retry-After), if it said; should this
   * failure open the breaker, it stays open that long instead of `coolDownMs` (within RETRY_AFTER_MIN_MS and
   * RETRY_AFTER_MAX_MS).
   */
  failure(retryAfterMs?: number): void;
  /** When a refused caller should ask again (epoch ms): now when closed. */
  retryAt(): number;
  snapshot(): BreakerSnapshot;
  /** Back to closed with no history (an operator's action). */
  reset(): void;
  /**
   * Runs `fn` if the breaker lets it, and records the result; throws `BreakerOpenError` otherwise.
   * A resolved result counts as a failure when `isFailure(result)` says so (e.g. a 5xx answer).
   */
  run<T>(fn: () => Promise<T>, isFailure?: (result: T) => boolean): Promise<T>;
}

const BUCKETS = 10;
const WHERE = 'createBreaker';

export function createBreaker(options: BreakerOptions = {}): Breaker {
  rejectUnknown(options, ['name', 'failureThreshold', 'failureRate', 'minRequests', 'windowMs', 'coolDownMs', 'probeTimeoutMs', 'now'], WHERE);
  const name = options.name ?? 'target';
  const failureThreshold = checkNumber(options.failureThreshold ?? 5, 'failureThreshold', WHERE, { min: 1, integer: true });
  const failureRate = checkNumber(options.failureRate ?? 0.5, 'failureRate', WHERE, { min: Number.EPSILON });
  if (failureRate > 1) throw new OptionsError(`${WHERE}: option "failureRate" must be at most 1`, { option: 'failureRate', where: WHERE });
  const minRequests = checkNumber(options.minRequests ?? 20, 'minRequests', WHERE, { min: 1, integer: true });
  const windowMs = checkNumber(options.windowMs ?? 60_000, 'windowMs', WHERE, { min: BUCKETS });
  const coolDownMs = checkNumber(options.coolDownMs ?? 30_000, 'coolDownMs', WHERE);
  const probeTimeoutMs = checkNumber(options.probeTimeoutMs ?? coolDownMs, 'probeTimeoutMs', WHERE);
  const now = options.now ?? Date.now;
  const events = new EventEmitter<BreakerEvents>();

  let state: BreakerState = 'closed';
  let consecutive = 0;
  let openedAt = 0;
  /** How long this opening lasts: coolDownMs, or the Retry-After of the failure that opened it. */
  let openFor = coolDownMs;
  let probeStartedAt: number | undefined;
  // Failure-rate window as BUCKETS slices: O(1) per call whatever the traffic.
  const bucketMs = windowMs / BUCKETS;
  const slot = new Array<number>(BUCKETS).fill(-1);
  const calls = new Array<number>(BUCKETS).fill(0);
  const fails = new Array<number>(BUCKETS).fill(0);

  function record(t: number, failed: boolean): void {
    const n = Math.floor(t / bucketMs);
    const i = n % BUCKETS;
    if (slot[i] !== n) {
      slot[i] = n;
      calls[i] = 0;
      fails[i] = 0;
    }
    calls[i]! += 1;
    if (failed) fails[i]! += 1;
  }

  function windowTotals(t: number): { calls: number; fails: number } {
    const n = Math.floor(t / bucketMs);
    let c = 0;
    let f = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if (slot[i]! > n - BUCKETS) {
        c += calls[i]!;
        f += fails[i]!;
      }
    }
    return { calls: c, fails: f };
  }

  function clearHistory(): void {
    consecutive = 0;
    probeStartedAt = undefined;
    slot.fill(-1);
    calls.fill(0);
    fails.fill(0);
  }

  function move(to: BreakerState, reason: string, at: number, retryAfterMs?: number): void {
    const change: BreakerChange = { target: name, from: state, to, reason, at };
    state = to;
    if (to === 'open') {
      openedAt = at;
      openFor = retryAfterMs === undefined || !Number.isFinite(retryAfterMs) ? coolDownMs : Math.min(RETRY_AFTER_MAX_MS, Math.max(RETRY_AFTER_MIN_MS, retryAfterMs));
      probeStartedAt = undefined;
    }
    if (to === 'closed') clearHistory();
    events.emit('breaker:changed', change);
    events.emit(to === 'open' ? 'breaker:opened' : to === 'half-open' ? 'breaker:half-opened' : 'breaker:closed', change);
  }

  function current(t: number): BreakerState {
    if (state === 'open' && t >= openedAt + openFor) move('half-open', openFor === coolDownMs ? `cool-down of ${coolDownMs} ms over` : `the ${openFor} ms the target asked for (Retry-After) are over`, t);
    return state;
  }

  function tryAcquire(): boolean {
    const t = now();
    const s = current(t);
    if (s === 'closed') return true;
    if (s === 'open') return false;
    if (probeStartedAt !== undefined && t - probeStartedAt < probeTimeoutMs) return false;
    probeStartedAt = t;
    return true;
  }

  function success(): void {
    const t = now();
    const s = current(t);
    if (s === 'half-open') return move('closed', 'probe succeeded', t);
    if (s === 'closed') {
      consecutive = 0;
      record(t, false);
    }
    // open: a late answer to a call made before it opened says nothing about now.
  }

  function failure(retryAfterMs?: number): void {
    const t = now();
    const s = current(t);
    const asked = retryAfterMs === undefined ? '' : ` (the target asked to wait ${retryAfterMs} ms)`;
    if (s === 'half-open') return move('open', `probe failed${asked}`, t, retryAfterMs);
    if (s === 'open') return;
    consecutive += 1;
    record(t, true);
    if (consecutive >= failureThreshold) return move('open', `${consecutive} consecutive failures${asked}`, t, retryAfterMs);
    const w = windowTotals(t);
    if (w.calls >= minRequests && w.fails / w.calls >= failureRate) {
      move('open', `${w.fails} of ${w.calls} calls failed in the last ${windowMs} ms${asked}`, t, retryAfterMs);
    }
  }

  function retryAt(): number {
    const t = now();
    const s = current(t);
    if (s === 'closed') return t;
    if (s === 'open') return openedAt + openFor;
    return probeStartedAt === undefined ? t : probeStartedAt + probeTimeoutMs;
  }

  async function run<T>(fn: () => Promise<T>, isFailure?: (result: T) => boolean): Promise<T> {
    if (!tryAcquire()) throw new BreakerOpenError(name, retryAt());
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      failure();
      throw error;
    }
    if (isFailure?.(result)) failure();
    else success();
    return result;
  }

  return {
    name,
    get state() {
      return current(now());
    },
    events,
    tryAcquire,
    success,
    failure,
    retryAt,
    snapshot() {
      const t = now();
      const w = windowTotals(t);
      return { state: current(t), consecutiveFailures: consecutive, windowCalls: w.calls, windowFailures: w.fails, retryAt: retryAt() };
    },
    reset() {
      if (state !== 'closed') move('closed', 'reset', now());
      clearHistory();
    },
    run,
  };
}

/**
 * Does this request's result count against the target? Yes when the target failed it: no answer, 408, 429
 * or 5xx. Permanent refusals and a batch refused because of its content are the target working as it should.
 */
export function isTargetFailure(outcomes: readonly ItemOutcome[]): boolean {
  return outcomes.some((o) => o.kind === 'retry' && !o.collateral && !o.isolate);
}

/** The longest wait the target asked for (Retry-After) among a failed request's outcomes, if it asked. */
export function askedToWait(outcomes: readonly ItemOutcome[]): number | undefined {
  let most: number | undefined;
  for (const o of outcomes) if (o.kind === 'retry' && o.retryAfterMs !== undefined && (most === undefined || o.retryAfterMs > most)) most = o.retryAfterMs;
  return most;
}
