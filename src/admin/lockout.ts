/**
 * Backoff on failed logins, per username and per client address. After `freeFailures` failures in a row
 * a key is locked for `baseDelayMs`, doubling with every further failure up to `maxDelayMs`; while locked,
 * even the right password is refused (so guessing cannot continue at the old pace). A success clears the
 * username's and the address's counts. Counts are forgotten after `forgetMs` without a failure. Kept in
 * memory: a restart forgets them, which bounds the harm of a lockout aimed at a real user.
 */
export interface LockoutOptions {
  /** Failures allowed before the first lock. Default 5 (per address: 4 times as many). */
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  forgetMs: number;
}

interface Entry {
  failures: number;
  lastFailureAt: number;
  lockedUntil: number;
}

export interface Lockout {
  /** Ms to wait before this username or address may try again; 0 when it may try now. */
  wait(username: string, address: string, now: number): number;
  /** Records a failure; answers the wait it causes (0 if none yet). */
  fail(username: string, address: string, now: number): number;
  succeed(username: string, address: string): void;
}

const MAX_ENTRIES = 100_000;

export function createLockout(o: LockoutOptions): Lockout {
  const entries = new Map<string, Entry>();
  const keys = (username: string, address: string): [string, number][] => [
    [`u:${username.toLowerCase()}`, o.freeFailures],
    [`a:${address}`, o.freeFailures * 4],
  ];

  function live(key: string, now: number): Entry | undefined {
    const e = entries.get(key);
    if (e && now - e.lastFailureAt > o.forgetMs && now >= e.lockedUntil) {
      entries.delete(key);
      return undefined;
    }
    return e;
  }

  return {
    wait(username, address, now) {
      let wait = 0;
      for (const [key] of keys(username, address)) wait = Math.max(wait, (live(key, now)?.lockedUntil ?? 0) - now);
      return Math.max(0, wait);
    },
    fail(username, address, now) {
      let wait = 0;
      for (const [key, free] of keys(username, address)) {
        const e = live(key, now) ?? { failures: 0, lastFailureAt: now, lockedUntil: 0 };
        e.failures += 1;
        e.lastFailureAt = now;
        if (e.failures >= free) {
          const delay = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** (e.failures - free));
          e.lockedUntil = now + delay;
          wait = Math.max(wait, delay);
        }
        entries.delete(key);
        entries.set(key, e);
      }
      // Bounded: under a flood of usernames, the oldest entries go first.
      while (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value as string);
      return wait;
    },
    succeed(username, address) {
      for (const [key] of keys(username, address)) entries.delete(key);
    },
  };
}
