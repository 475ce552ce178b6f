import { describe, expect, it } from 'vitest';
import type { InsightStore, RecordSearch, Store } from '../../src/ports/store.js';
import { accepted, at, expectCode, forLago, skipped, T0, useStore } from './fixtures.js';
import type { StoreFactory } from './fixtures.js';

const MIN = 60_000;

/** The admin panel's reads: counts per time bucket and the search over records and rejections. */
export function insightConformance(factory: StoreFactory): void {
  describe('insight', () => {
    const current = useStore(factory);
    const store = () => current() as Store & InsightStore;

    async function reject(id: string, ms: number, codes: string[], payload: unknown = { id, subject: 'customer-2' }, source = 'telecom') {
      await store().recordRejection({
        source,
        id,
        type: 'call.completed',
        errors: codes.map((code) => ({ code, message: `failed ${code}` })),
        rulesetVersion: 'rules-v1',
        receivedAt: at(ms),
        payload,
      });
    }

    describe('timeSeries', () => {
      it('counts records, rejections by first code, attempts by target and outcome, and dead letters per bucket', async () => {
        const s = store();
        await s.ingest([forLago('a', { receivedAt: at(0) }), forLago('b', { receivedAt: at(30_000) }), skipped('c', { receivedAt: at(MIN + 1) })]);
        await s.ingest([accepted('d', { receivedAt: at(2 * MIN) })]);
        await s.ingest([forLago('early', { receivedAt: at(-1) }), forLago('late', { receivedAt: at(3 * MIN) })]);
        await reject('r1', 10, ['UNKNOWN_CUSTOMER', 'TIME_TOO_OLD']);
        await reject('r2', MIN + 5, ['TIME_TOO_OLD']);
        await reject('r3', 2 * MIN + 5, ['UNKNOWN_CUSTOMER'], null);

        const rows = await s.claim({ target: 'lago', limit: 100, leaseMs: 60_000, worker: 'w', now: at(2 * MIN) });
        const byId = new Map(rows.map((r) => [r.recordId, r]));
        await s.ack(byId.get('a')!, { at: at(2 * MIN + 1), statusCode: 200 });
        await s.retryLater(byId.get('b')!, { at: at(2 * MIN + 2), error: 'HTTP 503', nextAttemptAt: at(2 * MIN + 3) });
        await s.deadLetter(byId.get('d')!, { at: at(MIN + 500), reason: 'HTTP 400', code: 'HTTP_400', statusCode: 400 });
        const stripe = await s.claim({ target: 'stripe', limit: 100, leaseMs: 60_000, worker: 'w', now: at(2 * MIN) });
        await s.ack(stripe[0]!, { at: at(2 * MIN + 10), statusCode: 200 });

        const series = await s.timeSeries({ from: T0, to: at(3 * MIN), bucketMs: MIN });
        expect(series.buckets).toBe(3);
        expect(series.from).toEqual(T0);
        expect(series.to).toEqual(at(3 * MIN));
        expect(series.bucketMs).toBe(MIN);
        expect(series.records).toEqual({ accepted: [2, 0, 1], skipped: [0, 1, 0], rejected: [1, 1, 1] });
        expect(series.rejectsByCode).toEqual({ UNKNOWN_CUSTOMER: [1, 0, 1], TIME_TOO_OLD: [0, 1, 0] });
        expect(series.deliveries).toEqual({
          lago: { delivered: [0, 0, 1], retry: [0, 0, 1], dead: [0, 1, 0] },
          stripe: { delivered: [0, 0, 1], retry: [0, 0, 0], dead: [0, 0, 0] },
        });
        expect(series.deadLetters).toEqual([0, 1, 0]);
      });

      it('answers zeros for an empty window, and a shorter last bucket', async () => {
        await store().ingest([forLago('a', { receivedAt: at(150_000) })]);
        const series = await store().timeSeries({ from: T0, to: at(150_001), bucketMs: MIN });
        expect(series.buckets).toBe(3);
        expect(series.records.accepted).toEqual([0, 0, 1]);
        expect(series.rejectsByCode).toEqual({});
        expect(series.deliveries).toEqual({});
        expect(series.deadLetters).toEqual([0, 0, 0]);
      });

      it('refuses an empty range, a bad bucket width and too many buckets', async () => {
        await expectCode(store().timeSeries({ from: T0, to: T0, bucketMs: MIN }), 'BLH_ERR_STORE_INPUT');
        await expectCode(store().timeSeries({ from: T0, to: at(MIN), bucketMs: 0 }), 'BLH_ERR_STORE_INPUT');
        await expectCode(store().timeSeries({ from: T0, to: at(MIN), bucketMs: 1 }), 'BLH_ERR_STORE_INPUT');
      });
    });

    describe('searchRecords', () => {
      async function seed() {
        const s = store();
        await s.ingest([
          forLago('a1', { receivedAt: at(1000), subject: 'acme' }),
          skipped('s1', { receivedAt: at(2000), subject: 'acme', code: 'ZERO_DURATION' }),
          forLago('a2', { receivedAt: at(3000), subject: 'globex', source: 'sms' }),
        ]);
        await reject('r1', 2000, ['UNKNOWN_CUSTOMER', 'TIME_TOO_OLD'], { id: 'r1', subject: 'acme' });
        await reject('r2', 4000, ['TIME_TOO_OLD'], { id: 'r2', subject: 'globex' }, 'sms');
        await reject('r3', 5000, ['NOT_AN_OBJECT'], null);
      }

      const ids = async (filter: RecordSearch = {}) => (await store().searchRecords(filter)).items.map((h) => h.id);

      it('merges records and rejections, newest received first', async () => {
        await seed();
        const page = await store().searchRecords();
        expect(page.items.map((h) => h.id)).toEqual(['r3', 'r2', 'a2', 's1', 'r1', 'a1']);
        expect(page.nextCursor).toBeNull();
        const r1 = page.items.find((h) => h.id === 'r1')!;
        expect(r1).toEqual({
          kind: 'rejection',
          source: 'telecom',
          id: 'r1',
          type: 'call.completed',
          subject: 'acme',
          verdict: 'rejected',
          code: 'UNKNOWN_CUSTOMER',
          codes: ['UNKNOWN_CUSTOMER', 'TIME_TOO_OLD'],
          rulesetVersion: 'rules-v1',
          receivedAt: at(2000),
          seq: expect.any(String),
        });
        const s1 = page.items.find((h) => h.id === 's1')!;
        expect(s1).toMatchObject({ kind: 'record', verdict: 'skipped', code: 'ZERO_DURATION', codes: ['ZERO_DURATION'], subject: 'acme', type: 'call.completed', receivedAt: at(2000) });
        expect(page.items.find((h) => h.id === 'a1')).toMatchObject({ kind: 'record', verdict: 'accepted', code: null, codes: [] });
        expect(page.items.find((h) => h.id === 'r3')).toMatchObject({ subject: null, code: 'NOT_AN_OBJECT' });
      });

      it('filters by source, id, subject, verdict, code and time range', async () => {
        await seed();
        expect(await ids({ source: 'sms' })).toEqual(['r2', 'a2']);
        expect(await ids({ id: 'r1' })).toEqual(['r1']);
        expect(await ids({ id: 'a1' })).toEqual(['a1']);
        expect(await ids({ subject: 'acme' })).toEqual(['s1', 'r1', 'a1']);
        expect(await ids({ verdict: 'rejected' })).toEqual(['r3', 'r2', 'r1']);
        expect(await ids({ verdict: 'accepted' })).toEqual(['a2', 'a1']);
        expect(await ids({ verdict: 'skipped' })).toEqual(['s1']);
        expect(await ids({ code: 'TIME_TOO_OLD' })).toEqual(['r2', 'r1']);
        expect(await ids({ code: 'ZERO_DURATION' })).toEqual(['s1']);
        expect(await ids({ from: at(2000), to: at(4000) })).toEqual(['a2', 's1', 'r1']);
        expect(await ids({ subject: 'acme', verdict: 'rejected', code: 'UNKNOWN_CUSTOMER' })).toEqual(['r1']);
        expect(await ids({ code: 'NOPE' })).toEqual([]);
      });

      it('pages through both tables with a cursor, ties on the time included', async () => {
        await seed();
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store().searchRecords({ limit: 2, ...(cursor ? { cursor } : {}) });
          expect(page.items.length).toBeLessThanOrEqual(2);
          seen.push(...page.items.map((h) => h.id));
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        expect(seen).toEqual(['r3', 'r2', 'a2', 's1', 'r1', 'a1']);
      });

      it('refuses a cursor it did not give and a verdict it does not know', async () => {
        await expectCode(store().searchRecords({ cursor: 'bm9wZQ' }), 'BLH_ERR_STORE_INPUT');
        await expectCode(store().searchRecords({ verdict: 'maybe' as never }), 'BLH_ERR_STORE_INPUT');
      });
    });
  });
}
