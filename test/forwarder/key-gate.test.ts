/**
 * The key gate's rules, on key locks shared in memory between two gates (two "processes") and a clock the
 * test moves: which rows may go, when keys are asked for, let go of, and handed to the other gate. The same
 * gate over PostgreSQL's locks runs in test/store/postgres-key-locks.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KEY_CLOSE_WAIT_MS, KEY_LINGER_MS, KEY_RETRY_MAX_MS, KEY_RETRY_MS, KEY_TURN_MS, KeyGate } from '../../src/forwarder/key-gate.ts';
import type { KeyLockSet } from '../../src/ports/store.ts';

/** Key locks of one target shared by every set made from it; `fail` makes the next lock calls reject. */
function sharedLocks() {
  const owners = new Map<string, object>();
  const calls: { lock: string[][]; unlock: string[][] } = { lock: [], unlock: [] };
  let fail = false;
  return {
    owners,
    calls,
    failNext(on: boolean) {
      fail = on;
    },
    set(): KeyLockSet {
      const me = {};
      const set: KeyLockSet = {
        holds: (key) => owners.get(key) === me,
        async lock(keys) {
          calls.lock.push([...keys]);
          if (fail) throw new Error('database unreachable');
          const took = keys.filter((k) => !owners.has(k) || owners.get(k) === me);
          for (const k of took) owners.set(k, me);
          return took;
        },
        async unlock(keys) {
          calls.unlock.push([...keys]);
          for (const k of keys) if (owners.get(k) === me) owners.delete(k);
        },
        async close() {
          for (const [k, o] of owners) if (o === me) owners.delete(k);
        },
      };
      return set;
    },
  };
}

let now = 0;
const flush = () => vi.advanceTimersByTimeAsync(0);

function gate(locks: KeyLockSet | undefined, ready: (string | undefined)[] = []) {
  const wakes: number[] = [];
  const waits: number[] = [];
  const failures: string[] = [];
  const refusals: number[] = [];
  const g = new KeyGate(locks, {
    clock: () => now,
    wake: () => wakes.push(now),
    wakeIn: (ms) => waits.push(ms),
    refused: (count) => refusals.push(count),
    readyKeys: () => ready,
    failed: (stage) => failures.push(stage),
  });
  return { g, wakes, waits, failures, refusals, ready };
}

beforeEach(() => {
  vi.useFakeTimers();
  now = 1_000_000;
});
afterEach(() => {
  vi.useRealTimers();
});

describe('key gate', () => {
  it('without key locks only a key with a request out waits', () => {
    const { g } = gate(undefined);
    expect(g.free('cus_1')).toBe(true);
    g.take('cus_1');
    expect(g.free('cus_1')).toBe(false);
    expect(g.free('cus_2')).toBe(true);
    g.done('cus_1');
    expect(g.free('cus_1')).toBe(true);
  });

  it('asks for the keys rows were passed over for, in one call, and wakes the runner when it has them', async () => {
    const shared = sharedLocks();
    const { g, wakes } = gate(shared.set());
    expect([g.free('cus_1'), g.free('cus_2'), g.free('cus_1')]).toEqual([false, false, false]);
    g.ask();
    g.ask(); // one call at a time
    await flush();
    expect(shared.calls.lock).toEqual([['cus_1', 'cus_2']]);
    expect(wakes).toHaveLength(1);
    expect([g.free('cus_1'), g.free('cus_2')]).toEqual([true, true]);
  });

  it('a key held elsewhere is asked for again only after KEY_RETRY_MS, and the runner is woken then', async () => {
    const shared = sharedLocks();
    const other = shared.set();
    await other.lock(['cus_1']);
    shared.calls.lock.length = 0;
    const { g, waits, refusals } = gate(shared.set());
    expect([g.free('cus_1'), g.free('cus_2')]).toEqual([false, false]);
    g.ask();
    await flush();
    expect(waits).toEqual([KEY_RETRY_MS]);
    expect(refusals).toEqual([1]); // cus_2 was free
    expect(g.free('cus_2')).toBe(true);
    now += KEY_RETRY_MS - 5;
    expect(g.free('cus_1')).toBe(false);
    g.ask();
    expect(shared.calls.lock).toHaveLength(1);
    expect(waits.at(-1)).toBe(5); // woken when the wait is over
    now += 5;
    await other.unlock(['cus_1']);
    expect(g.free('cus_1')).toBe(false);
    g.ask();
    await flush();
    expect(shared.calls.lock).toEqual([['cus_1', 'cus_2'], ['cus_1']]);
    expect(g.free('cus_1')).toBe(true);
    expect(refusals).toEqual([1]);
  });

  it('lets go of a key KEY_LINGER_MS after its last answer, unless a ready row still needs it', async () => {
    const shared = sharedLocks();
    const { g, ready } = gate(shared.set(), ['cus_2']);
    g.free('cus_1');
    g.free('cus_2');
    g.ask();
    await flush();
    g.take('cus_1');
    g.take('cus_2');
    g.done('cus_1');
    g.done('cus_2');
    await vi.advanceTimersByTimeAsync(KEY_LINGER_MS);
    expect(shared.calls.unlock).toEqual([['cus_1']]);
    expect([g.free('cus_1'), g.free('cus_2')]).toEqual([false, true]);
    // Its last row sent and answered: cus_2 goes too.
    ready.length = 0;
    g.take('cus_2');
    g.done('cus_2');
    await vi.advanceTimersByTimeAsync(KEY_LINGER_MS);
    expect(shared.calls.unlock).toEqual([['cus_1'], ['cus_2']]);
  });

  it('lets go of a key whose rows went unsent (their lease ran short), after the next dispatch', async () => {
    const shared = sharedLocks();
    const { g, ready } = gate(shared.set(), ['cus_1']);
    g.free('cus_1');
    g.ask();
    await flush();
    expect(g.free('cus_1')).toBe(true);
    // Not sent yet, still needed: kept.
    await vi.advanceTimersByTimeAsync(KEY_LINGER_MS);
    expect(shared.calls.unlock).toEqual([]);
    // Its row lapsed before a slot was free: no request, no answer.
    ready.length = 0;
    g.ask();
    await vi.advanceTimersByTimeAsync(KEY_LINGER_MS);
    expect(shared.calls.unlock).toEqual([['cus_1']]);
    expect(shared.owners.size).toBe(0);
  });

  it('after a turn of KEY_TURN_MS it lets go of a key its rows still need, and another gate takes it', async () => {
    const shared = sharedLocks();
    const a = gate(shared.set(), ['cus_1']);
    const b = gate(shared.set(), ['cus_1']);
    a.g.free('cus_1');
    a.g.ask();
    await flush();
    // Rows of cus_1 keep coming to a: it keeps the key through its turn.
    for (let t = 0; t < KEY_TURN_MS; t += 100) {
      a.g.take('cus_1');
      now += 100;
      if (now - 1_000_000 < KEY_TURN_MS) {
        a.g.done('cus_1');
        expect(a.g.free('cus_1')).toBe(true);
        expect(b.g.free('cus_1')).toBe(false);
      }
    }
    b.g.ask();
    await flush();
    expect(b.g.free('cus_1')).toBe(false); // refused: a still holds it
    a.g.done('cus_1'); // the answer that ends a's turn
    await flush();
    expect(shared.calls.unlock).toEqual([['cus_1']]);
    expect(a.g.free('cus_1')).toBe(false);
    now += KEY_RETRY_MS;
    b.g.free('cus_1');
    b.g.ask();
    await flush();
    expect(b.g.free('cus_1')).toBe(true);
    // a asks again only after twice the retry wait, and is refused while b holds it.
    now += KEY_RETRY_MS;
    a.g.free('cus_1');
    a.g.ask();
    await flush();
    expect(a.g.free('cus_1')).toBe(false);
  });

  it('a failed lock call is reported and asked again after a wait that doubles, up to KEY_RETRY_MAX_MS', async () => {
    const shared = sharedLocks();
    shared.failNext(true);
    const { g, waits, failures } = gate(shared.set());
    for (let i = 0; i < 10; i++) {
      g.free('cus_1');
      g.ask();
      await flush();
      now += waits.at(-1)!;
    }
    expect(failures).toEqual(Array(10).fill('lock'));
    expect(waits.slice(0, 4)).toEqual([2 * KEY_RETRY_MS, 4 * KEY_RETRY_MS, 8 * KEY_RETRY_MS, 16 * KEY_RETRY_MS]);
    expect(Math.max(...waits)).toBe(KEY_RETRY_MAX_MS);
    shared.failNext(false);
    g.free('cus_1');
    g.ask();
    await flush();
    expect(g.free('cus_1')).toBe(true);
  });

  it('close() does not wait more than KEY_CLOSE_WAIT_MS for a store that does not answer', async () => {
    const hanging: KeyLockSet = { holds: () => true, lock: async (keys) => [...keys], unlock: () => new Promise(() => undefined), close: () => new Promise(() => undefined) };
    const { g } = gate(hanging);
    let closed = false;
    void g.close().then(() => (closed = true));
    await vi.advanceTimersByTimeAsync(KEY_CLOSE_WAIT_MS - 1);
    expect(closed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(closed).toBe(true);
  });

  it('close() reports a store that failed to let go', async () => {
    const failing: KeyLockSet = { holds: () => false, lock: async () => [], unlock: async () => undefined, close: () => Promise.reject(new Error('connection reset')) };
    const { g, failures } = gate(failing);
    await g.close();
    expect(failures).toEqual(['unlock']);
  });

  it('close() lets go of every key it holds', async () => {
    const shared = sharedLocks();
    const { g } = gate(shared.set());
    g.free('cus_1');
    g.free('cus_2');
    g.ask();
    await flush();
    expect(shared.owners.size).toBe(2);
    await g.close();
    expect(shared.owners.size).toBe(0);
  });
});
