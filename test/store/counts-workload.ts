/**
 * Every kind of write the counts must follow, through two stores on one database (two connections, as two
 * processes would have), checking `expectCounts` after each group: ingest (accepted, skipped, a duplicate, a
 * conflict), rejections, acks (one refused), a retry, dead letters, hand-over claims settled elsewhere, a dead
 * letter retried and one discarded, a replay, and a prune of everything delivered.
 */
import { expect } from 'vitest';
import type { RetentionStore } from '../../src/ports/retention-store.js';
import type { RejectionEntry, Store, StoreStats } from '../../src/ports/store.js';
import { accepted, at, forLago, skipped, T0 } from './fixtures.js';

/** The parts of stats() that counts answer, to compare with a scan. */
export function counted(stats: StoreStats) {
  const targets: Record<string, Record<string, number>> = {};
  for (const [name, t] of Object.entries(stats.targets)) targets[name] = { pending: t.pending, delivered: t.delivered, dead: t.dead, discarded: t.discarded };
  return { records: stats.records, targets, deliveries: stats.deliveries };
}

export const rejection = (id: string): RejectionEntry => ({ source: 'telecom', id, type: 'call.completed', errors: [{ code: 'X' }], rulesetVersion: 'v1', receivedAt: T0, payload: {} }) as unknown as RejectionEntry;

type Counted = Store & RetentionStore;

export async function countsWorkload(a: Counted, b: Counted, expectCounts: (store: Counted) => Promise<void>): Promise<void> {
    // Ingest: accepted (two targets each), skipped, a duplicate and a conflict (neither counts), rejections.
    const outcomes = await a.ingest([accepted('1'), accepted('2'), accepted('3'), forLago('4'), forLago('5'), skipped('6'), accepted('1'), accepted('2', { payloadHash: 'other' })]);
    expect(outcomes.map((o) => o.status)).toEqual(['accepted', 'accepted', 'accepted', 'accepted', 'accepted', 'skipped', 'duplicate', 'conflict']);
    await b.ingest([forLago('7'), skipped('8')]);
    await a.recordRejection(rejection('r1'));
    await b.recordRejection(rejection('r2'));
    await expectCounts(a);

    // Deliveries: ack, ackMany with a refused entry, a retry (no change), dead letters.
    const rows = await a.claim({ target: 'lago', limit: 100, leaseMs: 60_000, worker: 'w1', now: T0 });
    expect(rows).toHaveLength(6);
    await a.ack(rows[0]!, { at: at(1), statusCode: 200 });
    const results = await a.ackMany([
      { ref: rows[1]!, receipt: { at: at(2), statusCode: 200 } },
      { ref: rows[2]!, receipt: { at: at(2), statusCode: 200 } },
      { ref: { ...rows[3]!, leaseToken: 'not-the-lease' }, receipt: { at: at(2), statusCode: 200 } },
    ]);
    expect(results.map((r) => (r === null ? null : (r as unknown as { code: string }).code))).toEqual([null, null, 'BLH_ERR_LEASE_LOST']);
    await a.retryLater(rows[3]!, { at: at(3), error: 'HTTP 503', statusCode: 503, nextAttemptAt: at(10) });
    await a.deadLetter(rows[4]!, { at: at(4), reason: 'HTTP 400', code: 'HTTP_400', statusCode: 400 });
    await a.deadLetter(rows[5]!, { at: at(4), reason: 'HTTP 400', code: 'HTTP_400', statusCode: 400 });
    await expectCounts(b);

    // Hand-over claims (leases on the rows), settled through the other connection.
    const handed = await a.claim({ target: 'stripe', limit: 2, leaseMs: 60_000, worker: 'relay', now: T0, handOver: true });
    expect(await b.ackMany(handed.map((ref) => ({ ref, receipt: { at: at(5), statusCode: 200 } })))).toEqual([null, null]);
    await expectCounts(a);

    // Dead letters retried and discarded from the other connection; a replay of what was delivered.
    const [first, second] = (await b.listDeadLetters()).items;
    await b.retryDeadLetter(first!.id, { at: at(6), by: 'ana' });
    await b.discardDeadLetter(second!.id, { at: at(6), by: 'ana' });
    expect(await b.requeueDelivered({ from: T0, to: at(3), target: 'lago', at: at(7) })).toBe(3);
    await expectCounts(a);
    await expect(b.retryDeadLetter(first!.id, { at: at(8), by: 'ana' })).rejects.toMatchObject({ code: 'BLH_ERR_STORE_STATE' });
    await expectCounts(b);

    // Everything delivered, then pruned: records, their rows and the rejections go, and so do their counts.
    for (const target of ['lago', 'stripe']) {
      const rest = await a.claim({ target, limit: 100, leaseMs: 60_000, worker: 'w1', now: at(100) });
      expect(await a.ackMany(rest.map((ref) => ({ ref, receipt: { at: at(100), statusCode: 200 } })))).not.toContainEqual(expect.any(Error));
    }
    const prunable = (await b.listPrunable({ before: at(1000) })).items;
    const rejections = (await b.listPrunableRejections({ before: at(1000) })).items;
    const pruned = await b.prune({ before: at(1000), records: prunable.map((r) => ({ source: r.source, id: r.id })), rejections: rejections.map((r) => r.seq) });
    // All but the record whose dead letter was discarded (a discarded row keeps its record).
    expect(pruned).toMatchObject({ records: 7, rejections: 2 });
    await expectCounts(a);
    expect((await a.stats({ now: T0 })).records).toEqual({ accepted: 1, skipped: 0, rejected: 0 });
}

/** A few writes of each kind the counts follow, as a store of the step before the counts would hold them; answers the counts stats() gives. */
export async function seedBeforeCounts(store: Counted): Promise<ReturnType<typeof counted>> {
  await store.ingest([accepted('1'), accepted('2'), forLago('3'), skipped('4')]);
  await store.recordRejection(rejection('r1'));
  const rows = await store.claim({ target: 'lago', limit: 100, leaseMs: 60_000, worker: 'w1', now: T0 });
  await store.ack(rows[0]!, { at: at(1), statusCode: 200 });
  await store.deadLetter(rows[1]!, { at: at(1), reason: 'HTTP 400', code: 'HTTP_400', statusCode: 400 });
  return counted(await store.stats({ now: T0 }));
}
