import { describe, expect, it } from 'vitest';
import { OptionsError } from '../../src/errors.js';
import { classifyStatus, createRetryPolicy, defaultRetryLimits, parseRetryAfter } from '../../src/forwarder/retry-policy.js';
import type { RetryOutcome } from '../../src/forwarder/targets/types.js';

const T0 = Date.parse('2026-11-25T10:00:00Z');
const retry = (over: Partial<RetryOutcome> = {}): RetryOutcome => ({ kind: 'retry', reason: 'HTTP 503', status: 503, ...over });

describe('classifyStatus', () => {
  it('2xx delivered; 408, 429, 5xx retry; everything else permanent', () => {
    expect([200, 201, 202, 204, 299].map(classifyStatus)).toEqual(Array(5).fill('delivered'));
    expect([408, 429, 500, 502, 503, 504, 599].map(classifyStatus)).toEqual(Array(7).fill('retry'));
    expect([100, 301, 304, 400, 401, 403, 404, 409, 410, 422].map(classifyStatus)).toEqual(Array(10).fill('permanent'));
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates, ignores garbage', () => {
    expect(parseRetryAfter('120', T0)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', T0)).toBe(0);
    expect(parseRetryAfter(['5', '9'], T0)).toBe(5000);
    expect(parseRetryAfter(new Date(T0 + 30_000).toUTCString(), T0)).toBe(30_000);
    expect(parseRetryAfter(new Date(T0 - 30_000).toUTCString(), T0)).toBe(0);
    expect(parseRetryAfter('soon', T0)).toBeUndefined();
    expect(parseRetryAfter(undefined, T0)).toBeUndefined();
    expect(parseRetryAfter('', T0)).toBeUndefined();
  });
});

describe('createRetryPolicy().decide', () => {
  const limits = { attempts: 5, maxAgeMs: 3_600_000, maxDelayMs: 60_000, baseDelayMs: 1000 };

  it('backs off exponentially with full jitter, capped by maxDelayMs', () => {
    const p = createRetryPolicy({ ...limits, random: () => 0.999_999 });
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((a) => p.backoff(a));
    expect(delays).toEqual([999, 1999, 3999, 7999, 15_999, 31_999, 59_999, 59_999]);
    const zero = createRetryPolicy({ ...limits, random: () => 0 });
    expect(zero.backoff(4)).toBe(0); // full jitter: anywhere in [0, ceiling)
    const half = createRetryPolicy({ ...limits, random: () => 0.5 });
    expect(half.decide({ attempt: 3, firstAttemptAt: T0, now: T0 + 10, outcome: retry() })).toEqual({ action: 'retry', at: T0 + 10 + 2000 });
  });

  it('never retries earlier than Retry-After, even beyond maxDelayMs', () => {
    const p = createRetryPolicy({ ...limits, random: () => 0.5 });
    expect(p.decide({ attempt: 1, firstAttemptAt: T0, now: T0, outcome: retry({ retryAfterMs: 120_000 }) })).toEqual({ action: 'retry', at: T0 + 120_000 });
    // A shorter Retry-After than the backoff keeps the backoff.
    expect(p.decide({ attempt: 4, firstAttemptAt: T0, now: T0, outcome: retry({ retryAfterMs: 10 }) })).toEqual({ action: 'retry', at: T0 + 4000 });
  });

  it('dead-letters a permanent outcome at once with its reason', () => {
    const p = createRetryPolicy(limits);
    expect(p.decide({ attempt: 1, firstAttemptAt: T0, now: T0, outcome: { kind: 'permanent', status: 400, reason: 'HTTP 400' } })).toEqual({
      action: 'dead',
      reason: 'HTTP 400',
    });
  });

  it('dead-letters after the last attempt', () => {
    const p = createRetryPolicy({ ...limits, random: () => 0.5 });
    expect(p.decide({ attempt: 4, firstAttemptAt: T0, now: T0, outcome: retry() }).action).toBe('retry');
    expect(p.decide({ attempt: 5, firstAttemptAt: T0, now: T0, outcome: retry() })).toEqual({ action: 'dead', reason: 'gave up after 5 attempts: HTTP 503' });
  });

  it('dead-letters past max age, and when Retry-After asks to wait beyond it', () => {
    const p = createRetryPolicy({ ...limits, random: () => 0.5 });
    expect(p.decide({ attempt: 1, firstAttemptAt: T0, now: T0 + 3_600_000, outcome: retry() }).action).toBe('dead');
    const far = p.decide({ attempt: 1, firstAttemptAt: T0, now: T0 + 3_500_000, outcome: retry({ retryAfterMs: 200_000 }) });
    expect(far).toMatchObject({ action: 'dead', reason: expect.stringContaining('asked to wait 200000 ms') });
  });

  it('a backoff that would pass max age becomes one last try at the deadline', () => {
    const p = createRetryPolicy({ ...limits, random: () => 0.999 });
    expect(p.decide({ attempt: 4, firstAttemptAt: T0, now: T0 + 3_599_000, outcome: retry() })).toEqual({ action: 'retry', at: T0 + 3_600_000 });
  });

  it('collateral items go again at once and do not use up attempts', () => {
    const p = createRetryPolicy({ ...limits, random: () => 0.9 });
    const outcome = retry({ status: 422, retryAfterMs: 0, collateral: true });
    expect(p.decide({ attempt: 99, firstAttemptAt: T0, now: T0 + 5, outcome })).toEqual({ action: 'retry', at: T0 + 5 });
    expect(p.decide({ attempt: 99, firstAttemptAt: T0, now: T0 + 3_600_000, outcome }).action).toBe('dead');
  });

  it('isolated items go again at once but the attempt counts', () => {
    const p = createRetryPolicy({ ...limits, random: () => 0.9 });
    const outcome = retry({ status: 400, retryAfterMs: 0, isolate: true });
    expect(p.decide({ attempt: 2, firstAttemptAt: T0, now: T0 + 5, outcome })).toEqual({ action: 'retry', at: T0 + 5 });
    expect(p.decide({ attempt: 5, firstAttemptAt: T0, now: T0 + 5, outcome }).action).toBe('dead');
  });

  it('has documented defaults and rejects bad limits by name', () => {
    expect(createRetryPolicy().limits).toEqual(defaultRetryLimits);
    expect(() => createRetryPolicy({ attempts: 0 })).toThrow(OptionsError);
    expect(() => createRetryPolicy({ maxDelay: 5 } as never)).toThrow(/unknown option "maxDelay"/);
    expect(() => createRetryPolicy({ baseDelayMs: -1 })).toThrow(/baseDelayMs/);
  });
});
