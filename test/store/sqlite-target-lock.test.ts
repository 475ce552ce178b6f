/**
 * One store at a time delivers a target of a SQLite file (src/adapters/sqlite/claim.ts): its leases live in
 * its memory, other stores (connections, processes) wait for its lock, and take the target over when it
 * closes, when its lock expires, or at once when its process is gone. Single-store lease rules are in the
 * conformance suite; these are the rules between stores.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SqliteStore } from '../../src/adapters/sqlite/index.js';
import type { IngestItem } from '../../src/ports/store.js';
import { at, expectCode, forLago, T0 } from './fixtures.js';
import { openedStores, sqliteFiles } from './sqlite-support.js';

const freshFile = sqliteFiles('bilhetagem-lock-');

describe('sqlite: one store delivers a target at a time', () => {
  const open = openedStores();
  const claim = (store: SqliteStore, o: { limit?: number; leaseMs?: number; worker?: string; now?: Date; handOver?: boolean } = {}) =>
    store.claim({ target: 'lago', limit: o.limit ?? 100, leaseMs: o.leaseMs ?? 60_000, worker: o.worker ?? 'w1', now: o.now ?? T0, ...(o.handOver ? { handOver: true } : {}) });
  const status = async (store: SqliteStore, id: string) => (await store.getRecord('telecom', id))!.targets.lago!.status;
  /** Records '0'..'n-1' for lago. */
  const lago = (n: number) => Array.from({ length: n }, (_, i) => forLago(String(i)));
  /** Two stores on one new file, as two processes would have; `items` ingested through the first. */
  const twoStores = async (items: IngestItem[]) => {
    const filename = freshFile();
    const a = open(filename);
    const b = open(filename);
    await a.ingest(items);
    return { a, b };
  };

  it('never gives a row to two connections: the second waits, then takes over when the first closes, leases and all', async () => {
    const { a, b } = await twoStores(lago(10));
    const first = await claim(a, { limit: 4 });
    expect(first.map((r) => r.recordId)).toEqual(['0', '1', '2', '3']);
    expect(await claim(b, { worker: 'w2' })).toEqual([]);
    // b can say who delivers the target; a cannot be told it is held elsewhere.
    expect(await b.heldElsewhere!('lago', at(5))).toEqual({ holder: expect.stringMatching(/:\d+:[0-9a-f]{8}$/), until: at(90_000) });
    expect(await a.heldElsewhere!('lago', at(5))).toBeUndefined();
    await a.ack(first[0]!, { at: at(10), statusCode: 200 });
    await a.close();
    expect(await b.heldElsewhere!('lago', at(20))).toBeUndefined();
    // The three rows a still held keep their lease, now written on the rows; the rest go to b.
    const second = await claim(b, { worker: 'w2', now: at(20) });
    expect(second.map((r) => r.recordId)).toEqual(['4', '5', '6', '7', '8', '9']);
    const third = await claim(b, { worker: 'w2', now: at(60_000) });
    expect(third.map((r) => r.recordId)).toEqual(['1', '2', '3']);
    // a's lease on them expired and b took them: a late ack under it is refused, b's is taken.
    await expectCode(b.ack(first[1]!, { at: at(60_100), statusCode: 200 }), 'BLH_ERR_LEASE_LOST');
    await b.ackMany([...second, ...third].map((ref) => ({ ref, receipt: { at: at(60_200), statusCode: 200 } })));
    for (let i = 0; i < 10; i++) expect(await status(b, String(i))).toBe('delivered');
  });

  it('lets a target go while the store stays open: another connection takes it over at once, honouring the leases', async () => {
    const { a, b } = await twoStores(lago(6));
    await a.ingest([forLago('other', { outputs: { stripe: { n: 1 } } })]);
    const held = await claim(a, { limit: 2 });
    const other = await a.claim({ target: 'stripe', limit: 10, leaseMs: 60_000, worker: 'w1', now: T0 });
    expect(other).toHaveLength(1);
    expect(await claim(b, { worker: 'w2', now: at(10) })).toEqual([]);
    // An ack written in the same transaction, just after the release, still settles: the lease is on the row now.
    await Promise.all([a.releaseTarget!('lago'), a.ack(held[1]!, { at: at(15), statusCode: 200 })]);
    expect(await status(a, '1')).toBe('delivered');
    // b needs neither a's close nor its lock's expiry; a's other row keeps its lease, now on the row.
    expect(await b.heldElsewhere!('lago', at(20))).toBeUndefined();
    expect((await claim(b, { worker: 'w2', now: at(20) })).map((r) => r.recordId)).toEqual(['2', '3', '4', '5']);
    // a's lease still settles (written on the row, its token unchanged); the other target is still a's.
    await a.ack(held[0]!, { at: at(30), statusCode: 200 });
    expect(await status(b, '0')).toBe('delivered');
    expect(await b.heldElsewhere!('stripe', at(30))).toMatchObject({ holder: expect.stringMatching(/:\d+:[0-9a-f]{8}$/) });
    await a.ack(other[0]!, { at: at(30), statusCode: 200 });
    // Letting go of a target this store does not hold writes nothing and takes nothing from b.
    await a.releaseTarget!('lago');
    expect(await a.heldElsewhere!('lago', at(40))).toMatchObject({ holder: expect.any(String) });
    expect(await claim(a, { now: at(40) })).toEqual([]);
  });

  it('lets another connection take a target whose lock expired, and refuses the old holder', async () => {
    const { a, b } = await twoStores([forLago('1'), forLago('2')]);
    const held = await claim(a, { leaseMs: 1000 });
    expect(held).toHaveLength(2);
    // The lock outlives every lease it covers (one and a half leases).
    expect(await claim(b, { worker: 'w2', now: at(1000) })).toEqual([]);
    const taken = await claim(b, { worker: 'w2', now: at(1500) });
    expect(taken.map((r) => r.id)).toEqual(held.map((r) => r.id));
    await expectCode(a.ack(held[0]!, { at: at(1600), statusCode: 200 }), 'BLH_ERR_LEASE_LOST');
    await expectCode(a.retryLater(held[1]!, { at: at(1600), error: 'timeout', nextAttemptAt: at(5000) }), 'BLH_ERR_LEASE_LOST');
    expect(await a.ackMany(held.map((ref) => ({ ref, receipt: { at: at(1600), statusCode: 200 } })))).toMatchObject([{ code: 'BLH_ERR_LEASE_LOST' }, { code: 'BLH_ERR_LEASE_LOST' }]);
    // And a, claiming again, finds the target held by b.
    expect(await claim(a, { now: at(1700) })).toEqual([]);
    await b.ackMany(taken.map((ref) => ({ ref, receipt: { at: at(1700), statusCode: 200 } })));
    expect((await b.getRecord('telecom', '1'))!.deliveries).toMatchObject([{ outcome: 'delivered', worker: 'w2' }]);
  });

  it('takes a target over at once from a process of this machine that no longer runs', async () => {
    const filename = freshFile();
    const a = open(filename);
    await a.ingest(lago(5));
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'hold-target.ts'), filename], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      child.once('exit', (code) => reject(new Error(`hold-target exited with ${code} before claiming`)));
    });
    expect(line).toBe('claimed 3');
    // Alive, it holds the target for a minute and a half.
    expect(await claim(a, { now: at(1) })).toEqual([]);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    // Gone, its lock holds nothing: every row, the three it had in flight too, is ours now.
    expect((await claim(a, { now: at(2) })).map((r) => r.recordId)).toEqual(['0', '1', '2', '3', '4']);
  });

  it('hand-over claims lease on the rows, so another connection settles them; a late settling after a take-over is refused', async () => {
    const filename = freshFile();
    const relay = open(filename);
    const worker = open(filename);
    await relay.ingest([forLago('1'), forLago('2'), forLago('3')]);
    const [one, two, three] = await claim(relay, { handOver: true, leaseMs: 1000 });
    // The worker holds no lock; the lease on the row is what it settles by.
    await worker.ack(one!, { at: at(10), statusCode: 200 });
    await worker.retryLater(two!, { at: at(10), error: 'HTTP 503', nextAttemptAt: at(500) });
    expect(await status(worker, '1')).toBe('delivered');
    // A hand-over lease is honoured by the holder's own claims until it expires...
    expect((await claim(relay, { now: at(500) })).map((r) => r.recordId)).toEqual(['2']);
    // ...and when it has, a claim takes the row and the old lease no longer settles it.
    const again = await claim(relay, { now: at(1000) });
    expect(again.map((r) => r.recordId)).toEqual(['3']);
    await expectCode(worker.ack(three!, { at: at(1100), statusCode: 200 }), 'BLH_ERR_LEASE_LOST');
    await relay.ack(again[0]!, { at: at(1200), statusCode: 200 });
    expect(await status(worker, '3')).toBe('delivered');
  });

  it('counts the rows another process has in flight, as of its last write', async () => {
    const { a, b } = await twoStores(lago(6));
    const rows = await claim(a, { limit: 5 });
    // Written as the claim took the lock: the other process sees the five before any is settled.
    expect((await b.stats({ now: at(5) })).targets.lago).toMatchObject({ pending: 6, leased: 5 });
    await a.ackMany(rows.slice(0, 2).map((ref) => ({ ref, receipt: { at: at(10), statusCode: 200 } })));
    expect((await a.stats({ now: at(20) })).targets.lago).toMatchObject({ pending: 4, leased: 3, delivered: 2 });
    expect((await b.stats({ now: at(20) })).targets.lago).toMatchObject({ pending: 4, leased: 3, delivered: 2 });
    // Once its lock has expired, nothing is in flight there.
    expect((await b.stats({ now: at(90_000) })).targets.lago.leased).toBe(0);
  });

  it('finds rows left behind its cursor: a lapsed lease, a row received earlier but committed later', async () => {
    const filename = freshFile();
    const a = open(filename);
    await a.ingest([forLago('1', { receivedAt: at(10) }), forLago('2', { receivedAt: at(10) })]);
    const [one] = await claim(a, { limit: 1, leaseMs: 1000, now: at(10) });
    expect(one!.recordId).toBe('1');
    // Received at 5, stored after the claim above passed 10: behind the cursor. Found all the same, and
    // handed out oldest due first.
    await a.ingest([forLago('late', { receivedAt: at(5) })]);
    expect((await claim(a, { now: at(20) })).map((r) => r.recordId)).toEqual(['late', '2']);
    // Row 1's lease lapses without a word from its holder: it is handed out again.
    expect((await claim(a, { now: at(1010) })).map((r) => r.recordId)).toEqual(['1']);
    await expectCode(a.ack(one!, { at: at(1020), statusCode: 200 }), 'BLH_ERR_LEASE_LOST');
  });

  it('leaves the body as the JSON text it holds when the claim asks for bodyJsonOnly', async () => {
    const a = open(freshFile());
    await a.ingest([forLago('1'), forLago('2')]);
    const [text] = await a.claim({ target: 'lago', limit: 1, leaseMs: 60_000, worker: 'w1', now: T0, bodyJsonOnly: true });
    expect(text).toMatchObject({ recordId: '1', body: undefined, bodyJson: '{"event":"1"}' });
    const [parsed] = await claim(a);
    expect(parsed).toMatchObject({ recordId: '2', body: { event: '2' }, bodyJson: '{"event":"2"}' });
  });
});
