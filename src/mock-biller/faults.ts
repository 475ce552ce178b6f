/**
 * Fault injection for the mock biller. Every draw comes from one seeded generator, so a run with the same
 * seed and the same request order gets the same faults.
 *
 * Except `failAfterStoreRate`, a fault answers before the endpoint runs: nothing is stored.
 */
import { OptionsError } from '../errors.js';

export interface Faults {
  /** Share of requests answered 500 without storing. */
  failureRate?: number;
  /** Share of requests that get no answer (or a 504 after `timeoutDelayMs`), nothing stored. */
  timeoutRate?: number;
  /** When set, a "timed out" request is answered 504 after this many ms instead of never. */
  timeoutDelayMs?: number;
  /** Added before every billing request is handled. */
  latencyMs?: number;
  /** The next `count` requests get 429 with `Retry-After: retryAfterS` (default 1). */
  burst429?: { count: number; retryAfterS?: number };
  /** Every request gets 503 for this many seconds from when the faults were set. */
  outageSeconds?: number;
  /** Share of requests that are stored and then answered 500: the case that needs idempotency. */
  failAfterStoreRate?: number;
  /** Restarts the random sequence. */
  seed?: number;
}

export type FaultDecision =
  | { kind: 'none' }
  | { kind: 'outage'; retryAfterS: number }
  | { kind: 'burst429'; retryAfterS: number }
  | { kind: 'timeout' }
  | { kind: 'failure' };

const KNOWN = ['failureRate', 'timeoutRate', 'timeoutDelayMs', 'latencyMs', 'burst429', 'outageSeconds', 'failAfterStoreRate', 'seed'];

/** mulberry32: small, fast, good enough to pick faults. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function rate(value: unknown, name: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new OptionsError(`mock biller faults: "${name}" must be a number from 0 to 1`, { option: name });
  return value;
}

function nonNegative(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new OptionsError(`mock biller faults: "${name}" must be a number >= 0`, { option: name });
  }
  return value;
}

export function checkFaults(input: unknown): Faults {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) throw new OptionsError('mock biller faults must be an object');
  const f = input as Record<string, unknown>;
  for (const key of Object.keys(f)) {
    if (!KNOWN.includes(key)) throw new OptionsError(`mock biller faults: unknown option "${key}" (known: ${KNOWN.join(', ')})`, { option: key });
  }
  const out: Faults = {};
  if (f.failureRate !== undefined) out.failureRate = rate(f.failureRate, 'failureRate');
  if (f.timeoutRate !== undefined) out.timeoutRate = rate(f.timeoutRate, 'timeoutRate');
  if (f.failAfterStoreRate !== undefined) out.failAfterStoreRate = rate(f.failAfterStoreRate, 'failAfterStoreRate');
  const timeoutDelayMs = nonNegative(f.timeoutDelayMs, 'timeoutDelayMs');
  if (timeoutDelayMs !== undefined) out.timeoutDelayMs = timeoutDelayMs;
  const latencyMs = nonNegative(f.latencyMs, 'latencyMs');
  if (latencyMs !== undefined) out.latencyMs = latencyMs;
  const outageSeconds = nonNegative(f.outageSeconds, 'outageSeconds');
  if (outageSeconds !== undefined) out.outageSeconds = outageSeconds;
  const seed = nonNegative(f.seed, 'seed');
  if (seed !== undefined) out.seed = seed;
  if (f.burst429 !== undefined) {
    const b = f.burst429 as Record<string, unknown> | null;
    if (b === null || typeof b !== 'object' || Array.isArray(b) || Object.keys(b).some((k) => k !== 'count' && k !== 'retryAfterS')) {
      throw new OptionsError('mock biller faults: "burst429" must be {count, retryAfterS?}', { option: 'burst429' });
    }
    const count = nonNegative(b.count, 'burst429.count');
    if (count === undefined || !Number.isInteger(count)) throw new OptionsError('mock biller faults: "burst429.count" must be an integer >= 0', { option: 'burst429.count' });
    out.burst429 = { count, retryAfterS: nonNegative(b.retryAfterS, 'burst429.retryAfterS') ?? 1 };
  }
  return out;
}

/** The live fault state: what is configured, and what is left of the burst and the outage. */
export class FaultState {
  faults: Faults = {};
  private random: () => number;
  private burstLeft = 0;
  private outageUntil = 0;

  constructor(
    private readonly defaultSeed: number,
    private readonly now: () => number,
  ) {
    this.random = seededRandom(defaultSeed);
  }

  /** Replaces every fault; the outage window and the 429 burst start now. */
  set(input: unknown): Faults {
    const faults = checkFaults(input);
    this.faults = faults;
    this.burstLeft = faults.burst429?.count ?? 0;
    this.outageUntil = faults.outageSeconds ? this.now() + faults.outageSeconds * 1000 : 0;
    if (faults.seed !== undefined) this.random = seededRandom(faults.seed);
    return faults;
  }

  /** The current faults, with what is left of the burst and the outage. */
  view(): Faults & { burst429Left: number; outageLeftMs: number } {
    return { ...this.faults, burst429Left: this.burstLeft, outageLeftMs: Math.max(0, this.outageUntil - this.now()) };
  }

  resetRandom(): void {
    this.random = seededRandom(this.faults.seed ?? this.defaultSeed);
  }

  /** Decided before the endpoint runs. */
  before(): FaultDecision {
    const f = this.faults;
    if (this.outageUntil !== 0) {
      const left = this.outageUntil - this.now();
      if (left > 0) return { kind: 'outage', retryAfterS: Math.ceil(left / 1000) };
      this.outageUntil = 0;
    }
    if (this.burstLeft > 0) {
      this.burstLeft -= 1;
      return { kind: 'burst429', retryAfterS: f.burst429?.retryAfterS ?? 1 };
    }
    if (f.timeoutRate && this.random() < f.timeoutRate) return { kind: 'timeout' };
    if (f.failureRate && this.random() < f.failureRate) return { kind: 'failure' };
    return { kind: 'none' };
  }

  /** Decided after the endpoint stored the item: answer 500 anyway? */
  afterStore(): boolean {
    const r = this.faults.failAfterStoreRate;
    return r !== undefined && r > 0 && this.random() < r;
  }
}
