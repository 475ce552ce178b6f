import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { evaluateWithJsonata } from '../../src/core/jsonata-guard.ts';

/** A clock that moves one millisecond every time it is read, so limits trip after a known amount of work. */
function tickingClock() {
  let t = 0;
  const now = () => ++t;
  return { now, reads: () => t };
}
const frozen = () => 0;

const TIMEOUT = { code: 'U1001', message: 'Expression evaluation timeout: Check for infinite loop' };
const OVERFLOW = { code: 'U1001', message: 'Stack overflow error: Check for non-terminating recursive function.  Consider rewriting as tail-recursive.' };

describe('evaluateWithJsonata', () => {
  it('returns what jsonata returns when within the limits', async () => {
    const expr = jsonata('{ "q": $ceil(data.s / 60), "plan": $customer.plan }');
    const out = await evaluateWithJsonata(expr, { data: { s: 61 } }, { customer: { plan: 'gold' } }, { timeoutMs: 1e9, maxDepth: 100, now: tickingClock().now });
    expect(JSON.parse(JSON.stringify(out))).toEqual({ q: 2, plan: 'gold' });
  });

  it('passes jsonata errors through untouched', async () => {
    const expr = jsonata('a + 1');
    await expect(evaluateWithJsonata(expr, { a: 'x' }, {}, { timeoutMs: 1e9, maxDepth: 100, now: frozen })).rejects.toMatchObject({ code: 'T2001', position: 3, token: '+' });
  });

  it('stops an infinite tail recursion on the time limit (it never grows the depth)', async () => {
    const clock = tickingClock();
    const expr = jsonata('($f := function($x){ $f($x) }; $f(1))');
    await expect(evaluateWithJsonata(expr, {}, {}, { timeoutMs: 100, maxDepth: 50, now: clock.now })).rejects.toMatchObject(TIMEOUT);
    // Two clock reads per evaluated node: the limit tripped after about fifty nodes, not after a runaway.
    expect(clock.reads()).toBeLessThan(110);
  });

  it('stops a long loop on the time limit', async () => {
    const clock = tickingClock();
    const expr = jsonata('[1..100000].($ * 2) ~> $sum()');
    await expect(evaluateWithJsonata(expr, {}, {}, { timeoutMs: 1000, maxDepth: 1000, now: clock.now })).rejects.toMatchObject(TIMEOUT);
    expect(clock.reads()).toBeLessThan(1010);
  });

  it('stops a non-terminating recursion on the depth limit', async () => {
    const expr = jsonata('($f := function($x){ 1 + $f($x) }; $f(1))');
    await expect(evaluateWithJsonata(expr, {}, {}, { timeoutMs: 1000, maxDepth: 200, now: frozen })).rejects.toMatchObject({ ...OVERFLOW, token: 'f' });
  });

  it('checks the clock injected, never its own', async () => {
    const expr = jsonata('$sum([1..50])');
    let reads = 0;
    const stuck = () => (reads++ === 0 ? 0 : 10_000);
    await expect(evaluateWithJsonata(expr, {}, {}, { timeoutMs: 5000, maxDepth: 1000, now: stuck })).rejects.toMatchObject(TIMEOUT);
    await expect(evaluateWithJsonata(expr, {}, {}, { timeoutMs: 5000, maxDepth: 1000, now: frozen })).resolves.toBe(1275);
  });

  it('keeps one depth counter per evaluation when the same expression runs concurrently', async () => {
    const src = '($f := function($n){ $n > 0 ? 1 + $f($n - 1) : 0 }; $f(40))';
    const expr = jsonata(src);
    const limits = (maxDepth: number) => ({ timeoutMs: 1e9, maxDepth, now: frozen });
    // The smallest limit one evaluation fits in (bounded, so a leaking counter fails here instead of looping).
    let fit = 1;
    while (fit < 1000 && (await evaluateWithJsonata(expr, {}, {}, limits(fit)).then(() => false, () => true))) fit++;
    expect(fit).toBeLessThan(1000);

    // Proof the evaluations interleave: a counter shared between two of them peaks well above one alone.
    const shared = jsonata(src);
    let depth = 0;
    let peak = 0;
    const hooks = shared as unknown as { assign(k: symbol, v: unknown): void };
    hooks.assign(Symbol.for('jsonata.__evaluate_entry'), () => { peak = Math.max(peak, ++depth); });
    hooks.assign(Symbol.for('jsonata.__evaluate_exit'), () => { depth--; });
    await Promise.all([shared.evaluate({}), shared.evaluate({})]);
    expect(peak).toBeGreaterThan(fit * 1.5);

    const results = await Promise.all([1, 2, 3].map(() => evaluateWithJsonata(expr, {}, {}, limits(fit))));
    expect(results).toEqual([40, 40, 40]);
  });

  it('leaves evaluations without the guard alone', async () => {
    const expr = jsonata('($f := function($n){ $n > 0 ? 1 + $f($n - 1) : 0 }; $f(100))');
    await expect(evaluateWithJsonata(expr, {}, {}, { timeoutMs: 1e9, maxDepth: 20, now: frozen })).rejects.toMatchObject(OVERFLOW);
    await expect(expr.evaluate({})).resolves.toBe(100);
  });
});
