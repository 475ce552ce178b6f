import { describe, expect, it } from 'vitest';
import { askedToWait, createBreaker, isTargetFailure, RETRY_AFTER_MAX_MS, RETRY_AFTER_MIN_MS } from '../../src/forwarder/breaker.js';
import type { BreakerChange } from '../../src/forwarder/breaker.js';
import { BreakerOpenError } from '../../src/forwarder/errors.js';
import { OptionsError } from '../../src/errors.js';

function fakeClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

function setup(options: Parameters<typeof createBreaker>[0] = {}) {
  const clock = fakeClock();
  const breaker = createBreaker({ name: 'lago', failureThreshold: 3, coolDownMs: 10_000, now: clock.now, ...options });
  const changes: string[] = [];
  breaker.events.on('breaker:changed', (c: BreakerChange) => changes.push(`${c.from}->${c.to}`));
  return { clock, breaker, changes };
}

describe('circuit breaker', () => {
  it('opens after N consecutive failures; a success in between resets the count', () => {
    const { breaker, changes } = setup();
    breaker.failure();
    breaker.failure();
    breaker.success();
    breaker.failure();
    breaker.failure();
    expect(breaker.state).toBe('closed');
    breaker.failure();
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    expect(changes).toEqual(['closed->open']);
  });

  it('half-opens after the cool-down and lets exactly one probe through', () => {
    const { breaker, clock, changes } = setup();
    for (let i = 0; i < 3; i++) breaker.failure();
    clock.advance(9_999);
    expect(breaker.tryAcquire()).toBe(false);
    expect(breaker.retryAt()).toBe(clock.now() + 1);
    clock.advance(1);
    expect(breaker.state).toBe('half-open');
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false);
    expect(changes).toEqual(['closed->open', 'open->half-open']);
  });

  it('a successful probe closes it; a failed probe opens it again for another cool-down', () => {
    const { breaker, clock, changes } = setup();
    for (let i = 0; i < 3; i++) breaker.failure();
    clock.advance(10_000);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.failure();
    expect(breaker.state).toBe('open');
    clock.advance(5_000);
    expect(breaker.tryAcquire()).toBe(false);
    clock.advance(5_000);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.success();
    expect(breaker.state).toBe('closed');
    expect(breaker.tryAcquire()).toBe(true);
    expect(changes).toEqual(['closed->open', 'open->half-open', 'half-open->open', 'open->half-open', 'half-open->closed']);
  });

  it('a probe that never reports frees the slot after probeTimeoutMs', () => {
    const { breaker, clock } = setup({ probeTimeoutMs: 2_000 });
    for (let i = 0; i < 3; i++) breaker.failure();
    clock.advance(10_000);
    expect(breaker.tryAcquire()).toBe(true);
    clock.advance(1_999);
    expect(breaker.tryAcquire()).toBe(false);
    clock.advance(1);
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('opens on the failure rate over the window, not before minRequests', () => {
    const { breaker, clock } = setup({ failureThreshold: 100, failureRate: 0.5, minRequests: 10, windowMs: 10_000 });
    for (let i = 0; i < 4; i++) {
      breaker.success();
      breaker.failure();
    }
    expect(breaker.state).toBe('closed'); // 4/8, under minRequests
    breaker.success();
    expect(breaker.state).toBe('closed'); // 4/9
    breaker.failure();
    expect(breaker.state).toBe('open'); // 5/10
    expect(breaker.snapshot()).toMatchObject({ state: 'open' });
    void clock;
  });

  it('forgets failures that slid out of the window', () => {
    const { breaker, clock } = setup({ failureThreshold: 100, failureRate: 0.5, minRequests: 4, windowMs: 10_000 });
    breaker.failure();
    breaker.failure();
    breaker.failure();
    clock.advance(20_000);
    breaker.success();
    breaker.success();
    breaker.success();
    breaker.failure();
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', windowCalls: 4, windowFailures: 1 });
  });

  it('emits named events with the reason', () => {
    const { breaker, clock } = setup();
    const opened: BreakerChange[] = [];
    const closed: BreakerChange[] = [];
    breaker.events.on('breaker:opened', (c) => opened.push(c));
    breaker.events.on('breaker:closed', (c) => closed.push(c));
    for (let i = 0; i < 3; i++) breaker.failure();
    clock.advance(10_000);
    breaker.tryAcquire();
    breaker.success();
    expect(opened).toEqual([{ target: 'lago', from: 'closed', to: 'open', reason: '3 consecutive failures', at: 1_000_000 }]);
    expect(closed).toEqual([{ target: 'lago', from: 'half-open', to: 'closed', reason: 'probe succeeded', at: 1_010_000 }]);
  });

  it('run() refuses with BreakerOpenError while open and records results', async () => {
    const { breaker, clock } = setup();
    await expect(breaker.run(async () => 503, (status) => status >= 500)).resolves.toBe(503);
    await expect(breaker.run(async () => 503, (status) => status >= 500)).resolves.toBe(503);
    await expect(breaker.run(async () => Promise.reject(new Error('ECONNRESET')))).rejects.toThrow('ECONNRESET');
    const error = await breaker.run(async () => 200).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BreakerOpenError);
    expect((error as BreakerOpenError).code).toBe('BLH_ERR_BREAKER_OPEN');
    expect((error as BreakerOpenError).retryAt).toBe(clock.now() + 10_000);
    clock.advance(10_000);
    await expect(breaker.run(async () => 200)).resolves.toBe(200);
    expect(breaker.state).toBe('closed');
  });

  it('reset() closes it and clears the history', () => {
    const { breaker, changes } = setup();
    for (let i = 0; i < 3; i++) breaker.failure();
    breaker.reset();
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 0, windowCalls: 0 });
    expect(changes).toEqual(['closed->open', 'open->closed']);
  });

  it('stays open as long as the target asked (Retry-After) when the failure that opened it said so, within bounds', () => {
    const { breaker, clock } = setup();
    const reasons: string[] = [];
    breaker.events.on('breaker:changed', (c: BreakerChange) => reasons.push(c.reason));
    breaker.failure();
    breaker.failure();
    breaker.failure(4000);
    expect(breaker.state).toBe('open');
    expect(breaker.retryAt()).toBe(clock.now() + 4000);
    clock.advance(3999);
    expect(breaker.tryAcquire()).toBe(false);
    clock.advance(1);
    expect(breaker.tryAcquire()).toBe(true);
    // The probe fails and the target asks for two minutes: no probe before then, though coolDownMs is 10 s.
    breaker.failure(120_000);
    clock.advance(119_999);
    expect(breaker.state).toBe('open');
    clock.advance(1);
    expect(breaker.tryAcquire()).toBe(true);
    // Without a Retry-After, coolDownMs again.
    breaker.failure();
    expect(breaker.retryAt()).toBe(clock.now() + 10_000);
    clock.advance(10_000);
    expect(breaker.tryAcquire()).toBe(true);
    // Bounds: a probe a second at most, an hour at most without one.
    breaker.failure(10);
    expect(breaker.retryAt()).toBe(clock.now() + RETRY_AFTER_MIN_MS);
    clock.advance(RETRY_AFTER_MIN_MS);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.failure(10 * 24 * 3_600_000);
    expect(breaker.retryAt()).toBe(clock.now() + RETRY_AFTER_MAX_MS);
    expect(reasons).toEqual([
      '3 consecutive failures (the target asked to wait 4000 ms)',
      'the 4000 ms the target asked for (Retry-After) are over',
      'probe failed (the target asked to wait 120000 ms)',
      'the 120000 ms the target asked for (Retry-After) are over',
      'probe failed',
      'cool-down of 10000 ms over',
      'probe failed (the target asked to wait 10 ms)',
      'the 1000 ms the target asked for (Retry-After) are over',
      'probe failed (the target asked to wait 864000000 ms)',
    ]);
  });

  it('rejects bad options by name', () => {
    expect(() => createBreaker({ threshold: 3 } as never)).toThrow(/unknown option "threshold"/);
    expect(() => createBreaker({ failureRate: 1.5 })).toThrow(OptionsError);
    expect(() => createBreaker({ failureThreshold: 0 })).toThrow(/failureThreshold/);
  });
});

describe('isTargetFailure', () => {
  it('counts no answer, 429 and 5xx, not refusals of content', () => {
    expect(isTargetFailure([{ kind: 'retry', reason: 'no answer' }])).toBe(true);
    expect(isTargetFailure([{ kind: 'delivered', status: 200 }])).toBe(false);
    expect(isTargetFailure([{ kind: 'permanent', status: 400, reason: 'x', answer: '' }])).toBe(false);
    expect(isTargetFailure([{ kind: 'retry', status: 422, reason: 'x', collateral: true }])).toBe(false);
    expect(isTargetFailure([{ kind: 'retry', status: 400, reason: 'x', isolate: true }])).toBe(false);
  });

  it('askedToWait: the longest Retry-After among the outcomes, if any', () => {
    expect(askedToWait([{ kind: 'retry', reason: 'no answer' }])).toBeUndefined();
    expect(askedToWait([{ kind: 'retry', status: 429, reason: 'x', retryAfterMs: 2000 }, { kind: 'retry', status: 503, reason: 'y', retryAfterMs: 5000 }, { kind: 'delivered', status: 200 }])).toBe(5000);
  });
});
