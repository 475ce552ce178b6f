/**
 * Per-key token buckets: each key holds up to `burst` tokens, refilled at `requestsPerSecond`; a request
 * takes one. Buckets that have refilled completely carry no information and are dropped now and then,
 * so memory follows the keys in active use, not every key ever seen.
 */
import type { RateLimitOptions } from './options.ts';

export interface RateLimiter {
  /** 0 when the request may go on, else the whole seconds to wait before one token is back. */
  take(key: string): number;
  readonly limit: number;
}

export function createRateLimiter(options: Required<RateLimitOptions>, clock: () => number): RateLimiter {
  const { requestsPerSecond: rate, burst } = options;
  const buckets = new Map<string, { tokens: number; at: number }>();
  let lastSweep = clock();

  function sweep(now: number): void {
    lastSweep = now;
    for (const [key, b] of buckets) if (b.tokens + ((now - b.at) / 1000) * rate >= burst) buckets.delete(key);
  }

  return {
    limit: rate,
    take(key) {
      const now = clock();
      if (now - lastSweep > 60_000) sweep(now);
      let b = buckets.get(key);
      if (!b) {
        b = { tokens: burst, at: now };
        buckets.set(key, b);
      } else {
        b.tokens = Math.min(burst, b.tokens + (Math.max(0, now - b.at) / 1000) * rate);
        b.at = now;
      }
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - b.tokens) / rate));
    },
  };
}
