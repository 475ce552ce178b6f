import { describe, expect, it } from 'vitest';
import { accepted, at, expectCode, forLago, skipped, T0, useStore } from './fixtures.js';
import type { StoreFactory } from './fixtures.js';

export function outboxConformance(factory: StoreFactory): void {
  describe('outbox', () => {
    const store = useStore(factory);
    const claim = (options: { target?: string; limit?: number; leaseMs?: number; worker?: string; now?: Date } = {}) =>
      store().claim({ target: 'lago', limit: 10, leaseMs: 30_000, worker: 'w1', now: T0, ...options });

    describe('claim', () => {
      it('returns due rows of its target, oldest due first, with what the forwarder needs', async () => {
        await store().ingest([accepted('b', { receivedAt: at(-1000) }), accepted('a', { receivedAt: at(-2000) })]);
        const rows = await claim();
        expect(rows.map((r) => r.recordId)).toEqual(['a', 'b']);
        // The body also comes as the JSON text the store holds: the same body.
        const { bodyJson, ...first } = rows[0]!;
        expect(JSON.parse(bodyJson!)).toEqual(first.body);
        expect(first).toEqual({
          id: expect.any(String),
          leaseToken: expect.any(String),
          target: 'lago',
          source: 'telecom',
          recordId: 'a',
          body: { event: 'a', units: 1 },
          attempts: 0,
          replays: 0,
          createdAt: at(-2000),
          nextAttemptAt: at(-2000),
          leaseExpiresAt: at(30_000),
        });
        expect((await claim({ target: 'stripe' })).map((r) => r.body)).toEqual([{ meter: 'a', value: 1 }, { meter: 'b', value: 1 }]);
      });

      it('takes at most `limit` rows and leaves leased rows to nobody else', async () => {
        await store().ingest(['1', '2', '3'].map((id) => forLago(id)));
        expect((await claim({ limit: 2 })).map((r) => r.recordId)).toEqual(['1', '2']);
        expect((await claim({ worker: 'w2' })).map((r) => r.recordId)).toEqual(['3']);
        expect(await claim({ worker: 'w3', now: at(29_999) })).toEqual([]);
      });

      it('does not take rows before their nextAttemptAt', async () => {
        await store().ingest([forLago('later', { receivedAt: at(5000) })]);
        expect(await claim()).toEqual([]);
        expect(await claim({ now: at(4999) })).toEqual([]);
        expect(await claim({ now: at(5000) })).toHaveLength(1);
      });

      it('never gives the same row to two concurrent claimers', async () => {
        await store().ingest(Array.from({ length: 10 }, (_, i) => forLago(String(i))));
        const [a, b, c] = await Promise.all([claim({ limit: 4, worker: 'a' }), claim({ limit: 4, worker: 'b' }), claim({ limit: 4, worker: 'c' })]);
        const ids = [...a, ...b, ...c].map((r) => r.id);
        expect(ids).toHaveLength(10);
        expect(new Set(ids).size).toBe(10);
      });

      it('lets another worker claim a row whose lease expired, and refuses the stale holder', async () => {
        await store().ingest([forLago('1')]);
        const [stale] = await claim({ leaseMs: 1000 });
        const [fresh] = await claim({ worker: 'w2', now: at(1000) });
        expect(fresh.id).toBe(stale.id);
        expect(fresh.leaseToken).not.toBe(stale.leaseToken);
        await expectCode(store().ack(stale, { at: at(1100), statusCode: 200 }), 'BLH_ERR_LEASE_LOST');
        await expectCode(store().retryLater(stale, { at: at(1100), error: 'timeout', nextAttemptAt: at(5000) }), 'BLH_ERR_LEASE_LOST');
        await expectCode(store().deadLetter(stale, { at: at(1100), reason: 'nope' }), 'BLH_ERR_LEASE_LOST');
        await store().ack(fresh, { at: at(1200), statusCode: 200 });
        const record = await store().getRecord('telecom', '1');
        expect(record!.deliveries).toMatchObject([{ outcome: 'delivered', worker: 'w2' }]);
      });

      it('still takes the ack of a holder whose lease expired but was not claimed again', async () => {
        await store().ingest([forLago('1')]);
        const [row] = await claim({ leaseMs: 1000 });
        await store().ack(row, { at: at(60_000), statusCode: 200 });
        expect((await store().getRecord('telecom', '1'))!.targets.lago.status).toBe('delivered');
      });

      it('refuses settling with a wrong token or an unknown row', async () => {
        await store().ingest([forLago('1')]);
        const [row] = await claim();
        await expectCode(store().ack({ id: row.id, leaseToken: 'forged' }, { at: T0 }), 'BLH_ERR_LEASE_LOST');
        await expectCode(store().ack({ id: '999999', leaseToken: row.leaseToken }, { at: T0 }), 'BLH_ERR_STORE_NOT_FOUND');
        await expectCode(store().ack({ id: 'not-an-id', leaseToken: row.leaseToken }, { at: T0 }), 'BLH_ERR_STORE_NOT_FOUND');
      });

      it('refuses malformed claim options', async () => {
        await expectCode(claim({ limit: 0 }), 'BLH_ERR_STORE_INPUT');
        await expectCode(claim({ leaseMs: -1 }), 'BLH_ERR_STORE_INPUT');
        await expectCode(claim({ now: new Date(Number.NaN) }), 'BLH_ERR_STORE_INPUT');
        await expectCode(claim({ worker: '' }), 'BLH_ERR_STORE_INPUT');
      });
    });

    describe('ack', () => {
      it('marks the row delivered, keeps the receipt and logs the attempt', async () => {
        await store().ingest([forLago('1')]);
        const [row] = await claim();
        await store().ack(row, { at: at(250), statusCode: 201, targetId: 'lago-evt-9', latencyMs: 42.5, answer: { ok: true } });
        const record = await store().getRecord('telecom', '1');
        expect(record!.targets.lago).toMatchObject({
          status: 'delivered',
          attempts: 1,
          nextAttemptAt: null,
          deliveredAt: at(250),
          receipt: { statusCode: 201, targetId: 'lago-evt-9' },
        });
        expect(record!.deliveries).toEqual([
          { target: 'lago', at: at(250), outcome: 'delivered', statusCode: 201, targetId: 'lago-evt-9', latencyMs: 42.5, error: null, answer: { ok: true }, worker: 'w1' },
        ]);
        expect(await claim({ now: at(3_600_000) })).toEqual([]);
      });

      it('refuses a second ack of the same lease', async () => {
        await store().ingest([forLago('1')]);
        const [row] = await claim();
        await store().ack(row, { at: T0 });
        await expectCode(store().ack(row, { at: T0 }), 'BLH_ERR_LEASE_LOST');
        expect((await store().getRecord('telecom', '1'))!.deliveries).toHaveLength(1);
      });
    });

    describe('ackMany', () => {
      it('acks every entry as ack would: status, receipt and one attempt each', async () => {
        await store().ingest(['1', '2', '3'].map((id) => forLago(id)));
        const rows = await claim();
        const results = await store().ackMany(
          rows.map((row, i) => ({ ref: row, receipt: { at: at(100 + i), statusCode: 201, targetId: `t-${row.recordId}`, latencyMs: 1.5, ...(i === 1 ? { answer: { duplicate: true } } : {}) } })),
        );
        expect(results).toEqual([null, null, null]);
        for (const [i, id] of ['1', '2', '3'].entries()) {
          const record = await store().getRecord('telecom', id);
          expect(record!.targets.lago).toMatchObject({ status: 'delivered', attempts: 1, deliveredAt: at(100 + i), receipt: { statusCode: 201, targetId: `t-${id}` } });
          expect(record!.deliveries).toEqual([
            { target: 'lago', at: at(100 + i), outcome: 'delivered', statusCode: 201, targetId: `t-${id}`, latencyMs: 1.5, error: null, answer: i === 1 ? { duplicate: true } : null, worker: 'w1' },
          ]);
        }
        expect(await claim({ now: at(3_600_000) })).toEqual([]);
      });

      it('refuses only the entries whose lease is not held, in order, and writes the others', async () => {
        await store().ingest(['1', '2', '3', '4'].map((id) => forLago(id)));
        const [one, two, three, four] = await claim({ leaseMs: 1000 });
        const [taken] = await claim({ worker: 'w2', now: at(1000), limit: 1 });
        expect(taken.id).toBe(one.id);
        const results = await store().ackMany([
          { ref: one, receipt: { at: at(1100), statusCode: 200 } },
          { ref: two, receipt: { at: at(1100), statusCode: 200 } },
          { ref: { id: three.id, leaseToken: 'forged' }, receipt: { at: at(1100) } },
          { ref: { id: '999999', leaseToken: four.leaseToken }, receipt: { at: at(1100) } },
          { ref: { id: 'not-an-id', leaseToken: four.leaseToken }, receipt: { at: at(1100) } },
          { ref: two, receipt: { at: at(1200), statusCode: 200 } },
          { ref: four, receipt: { at: at(1100), statusCode: 200 } },
        ]);
        expect(results.map((r) => (r === null ? null : (r as { code?: string }).code))).toEqual([
          'BLH_ERR_LEASE_LOST',
          null,
          'BLH_ERR_LEASE_LOST',
          'BLH_ERR_STORE_NOT_FOUND',
          'BLH_ERR_STORE_NOT_FOUND',
          'BLH_ERR_LEASE_LOST',
          null,
        ]);
        const status = async (id: string) => (await store().getRecord('telecom', id))!.targets.lago;
        expect(await status('1')).toMatchObject({ status: 'pending', attempts: 0 });
        expect((await store().getRecord('telecom', '1'))!.deliveries).toEqual([]);
        expect(await status('2')).toMatchObject({ status: 'delivered', attempts: 1, deliveredAt: at(1100) });
        expect((await store().getRecord('telecom', '2'))!.deliveries).toHaveLength(1);
        expect(await status('3')).toMatchObject({ status: 'pending' });
        expect(await status('4')).toMatchObject({ status: 'delivered' });
        // The lease of the worker that took row 1 over still holds.
        expect(await store().ackMany([{ ref: taken, receipt: { at: at(1300), statusCode: 200 } }])).toEqual([null]);
        expect((await store().getRecord('telecom', '1'))!.deliveries).toMatchObject([{ outcome: 'delivered', worker: 'w2' }]);
      });

      it('acks a row named twice only once, whichever entry holds its lease', async () => {
        await store().ingest([forLago('1')]);
        const [row] = await claim();
        const results = await store().ackMany([
          { ref: { id: row.id, leaseToken: 'forged' }, receipt: { at: at(10) } },
          { ref: row, receipt: { at: at(20), statusCode: 200 } },
          { ref: row, receipt: { at: at(30), statusCode: 200 } },
        ]);
        expect(results.map((r) => (r === null ? null : (r as { code?: string }).code))).toEqual(['BLH_ERR_LEASE_LOST', null, 'BLH_ERR_LEASE_LOST']);
        const record = await store().getRecord('telecom', '1');
        expect(record!.targets.lago).toMatchObject({ status: 'delivered', attempts: 1, deliveredAt: at(20) });
        expect(record!.deliveries).toHaveLength(1);
      });

      it('answers an empty list with an empty list, and refuses malformed entries having written nothing', async () => {
        await store().ingest([forLago('1')]);
        const [row] = await claim();
        expect(await store().ackMany([])).toEqual([]);
        await expectCode(store().ackMany([{ ref: row, receipt: { at: T0 } }, { ref: row, receipt: { at: new Date(Number.NaN) } }]), 'BLH_ERR_STORE_INPUT');
        await expectCode(store().ackMany([{ ref: row, receipt: { at: T0 } }, { ref: { id: row.id }, receipt: { at: T0 } } as never]), 'BLH_ERR_STORE_INPUT');
        await expectCode(store().ackMany('nope' as never), 'BLH_ERR_STORE_INPUT');
        expect((await store().getRecord('telecom', '1'))!.targets.lago).toMatchObject({ status: 'pending', attempts: 0 });
        expect(await store().ackMany([{ ref: row, receipt: { at: T0 } }])).toEqual([null]);
      });
    });

    describe('retryLater', () => {
      it('releases the row until its next attempt and logs the failure', async () => {
        await store().ingest([forLago('1')]);
        const [row] = await claim();
        await store().retryLater(row, { at: at(100), error: 'HTTP 503', statusCode: 503, latencyMs: 7, answer: 'busy', nextAttemptAt: at(10_000) });
        const record = await store().getRecord('telecom', '1');
        expect(record!.targets.lago).toMatchObject({ status: 'pending', attempts: 1, lastError: 'HTTP 503', nextAttemptAt: at(10_000) });
        expect(record!.deliveries).toEqual([
          { target: 'lago', at: at(100), outcome: 'retry', statusCode: 503, targetId: null, latencyMs: 7, error: 'HTTP 503', answer: 'busy', worker: 'w1' },
        ]);
        expect(await claim({ now: at(9_999) })).toEqual([]);
        const [again] = await claim({ now: at(10_000), worker: 'w2' });
        expect(again).toMatchObject({ recordId: '1', attempts: 1, nextAttemptAt: at(10_000) });
        await store().ack(again, { at: at(10_050), statusCode: 200 });
        const after = await store().getRecord('telecom', '1');
        expect(after!.targets.lago).toMatchObject({ status: 'delivered', attempts: 2, lastError: null });
        expect(after!.deliveries.map((d) => d.outcome)).toEqual(['retry', 'delivered']);
      });

      it('logs but does not count an attempt the forwarder says not to count', async () => {
        await store().ingest([forLago('1')]);
        const [row] = await claim();
        await store().retryLater(row, { at: T0, error: 'batch refused for another item', nextAttemptAt: T0, countAttempt: false });
        const [again] = await claim({ worker: 'w2' });
        expect(again.attempts).toBe(0);
        expect((await store().getRecord('telecom', '1'))!.deliveries).toMatchObject([{ outcome: 'retry', error: 'batch refused for another item' }]);
      });

      it("keeps when a row's run of tries began: its first counted failure, until a dead-letter retry or a replay", async () => {
        await store().ingest([forLago('1'), forLago('2'), forLago('3')]);
        const first = await claim({ leaseMs: 100 });
        expect(first.map((r) => r.firstTryAt)).toEqual([undefined, undefined, undefined]);
        const [one, two, three] = first;
        // Handed back unsent (or failed for another item of a batch): not a try of its own, nothing starts.
        await store().retryLater(two!, { at: at(50), error: 'not sent', nextAttemptAt: at(1000), countAttempt: false });
        await store().retryLater(one!, { at: at(100), error: 'HTTP 503', nextAttemptAt: at(1000) });
        await store().retryLater(three!, { at: at(120), error: 'HTTP 503', nextAttemptAt: at(1000) });
        const second = await claim({ now: at(1000), leaseMs: 100 });
        expect(second.map((r) => [r.recordId, r.firstTryAt])).toEqual([['1', at(100)], ['2', undefined], ['3', at(120)]]);
        // A later failure keeps the first one's time.
        await store().retryLater(second[0]!, { at: at(1100), error: 'HTTP 503', nextAttemptAt: at(2000) });
        await store().retryLater(second[1]!, { at: at(1100), error: 'HTTP 503', nextAttemptAt: at(2000) });
        await store().ack(second[2]!, { at: at(1100), statusCode: 200 });
        const third = await claim({ now: at(2000), leaseMs: 100 });
        expect(third.map((r) => [r.recordId, r.firstTryAt])).toEqual([['1', at(100)], ['2', at(1100)]]);
        // A dead letter retried, and a delivered row replayed, start a new run.
        const dead = await store().deadLetter(third[0]!, { at: at(2100), reason: 'gave up', code: 'MAX_ATTEMPTS' });
        await store().ack(third[1]!, { at: at(2100), statusCode: 200 });
        await store().retryDeadLetter(dead.id, { at: at(3000) });
        expect(await store().requeueDelivered({ from: at(1100), to: at(2101), at: at(3000) })).toBe(2);
        const fourth = await claim({ now: at(3000), leaseMs: 100 });
        expect(fourth.map((r) => [r.recordId, r.firstTryAt])).toEqual([['1', undefined], ['2', undefined], ['3', undefined]]);
      });

      it('refuses a retry without an error or a next attempt time', async () => {
        await store().ingest([forLago('1')]);
        const [row] = await claim();
        await expectCode(store().retryLater(row, { at: T0, error: '', nextAttemptAt: T0 }), 'BLH_ERR_STORE_INPUT');
        await expectCode(store().retryLater(row, { at: T0, error: 'x' } as never), 'BLH_ERR_STORE_INPUT');
      });
    });

    describe('requeueDelivered', () => {
      async function deliver(id: string, deliveredAt: Date, target = 'lago') {
        const rows = await store().claim({ target, limit: 100, leaseMs: 1, worker: 'w1', now: deliveredAt });
        const row = rows.find((r) => r.recordId === id)!;
        await store().ack(row, { at: deliveredAt, statusCode: 200, targetId: `t-${id}` });
      }

      it('makes delivered rows in the window pending again and keeps their history', async () => {
        await store().ingest([forLago('1'), forLago('2'), forLago('3'), forLago('4', { source: 'energy' })]);
        await deliver('1', at(1000));
        await deliver('2', at(2000));
        await deliver('4', at(2500));
        await deliver('3', at(3000));
        expect(await store().requeueDelivered({ from: at(1000), to: at(3000), source: 'telecom', at: at(10_000) })).toBe(2);
        const one = await store().getRecord('telecom', '1');
        expect(one!.targets.lago).toMatchObject({ status: 'pending', attempts: 0, replays: 1, nextAttemptAt: at(10_000), deliveredAt: at(1000) });
        expect(one!.deliveries).toMatchObject([{ outcome: 'delivered', targetId: 't-1' }]);
        expect((await store().getRecord('telecom', '3'))!.targets.lago.status).toBe('delivered');
        expect((await store().getRecord('energy', '4'))!.targets.lago.status).toBe('delivered');
        expect(await claim({ now: at(9_999) })).toEqual([]);
        const again = await claim({ now: at(10_000) });
        expect(again.map((r) => [r.recordId, r.replays])).toEqual([['1', 1], ['2', 1]]);
        // Delivered again: both deliveries are listed, oldest first, each with its own answer.
        await store().ack(again[0], { at: at(11_000), statusCode: 201, targetId: 't-1-again' });
        const twice = await store().getRecord('telecom', '1');
        expect(twice!.deliveries).toMatchObject([
          { outcome: 'delivered', targetId: 't-1', statusCode: 200, at: at(1000) },
          { outcome: 'delivered', targetId: 't-1-again', statusCode: 201, at: at(11_000) },
        ]);
        expect(twice!.targets.lago).toMatchObject({ status: 'delivered', deliveredAt: at(11_000), receipt: { statusCode: 201, targetId: 't-1-again' } });
      });

      it('lists the attempts of a record with two targets oldest first, whichever way each was written', async () => {
        await store().ingest([accepted('1')]);
        await deliver('1', at(1000), 'lago');
        const [stripe] = await store().claim({ target: 'stripe', limit: 1, leaseMs: 60_000, worker: 'w2', now: at(1500) });
        await store().retryLater(stripe, { at: at(2000), error: 'HTTP 503', statusCode: 503, nextAttemptAt: at(2500) });
        const [again] = await store().claim({ target: 'stripe', limit: 1, leaseMs: 60_000, worker: 'w3', now: at(2500) });
        await store().ack(again, { at: at(3000), statusCode: 200, targetId: 'st-1', latencyMs: 12, answer: { id: 'st-1' } });
        const record = await store().getRecord('telecom', '1');
        expect(record!.deliveries).toEqual([
          expect.objectContaining({ target: 'lago', outcome: 'delivered', at: at(1000), worker: 'w1' }),
          expect.objectContaining({ target: 'stripe', outcome: 'retry', at: at(2000), statusCode: 503, worker: 'w2' }),
          expect.objectContaining({ target: 'stripe', outcome: 'delivered', at: at(3000), statusCode: 200, targetId: 'st-1', latencyMs: 12, answer: { id: 'st-1' }, error: null, worker: 'w3' }),
        ]);
      });

      it('filters by target and leaves rows that are not delivered alone', async () => {
        await store().ingest([accepted('1'), accepted('2')]);
        await deliver('1', at(1000), 'lago');
        await deliver('1', at(1000), 'stripe');
        expect(await store().requeueDelivered({ from: T0, to: at(5000), target: 'stripe', at: at(6000) })).toBe(1);
        const record = await store().getRecord('telecom', '1');
        expect([record!.targets.lago.status, record!.targets.stripe.status]).toEqual(['delivered', 'pending']);
        expect((await store().getRecord('telecom', '2'))!.targets.stripe).toMatchObject({ status: 'pending', replays: 0 });
      });
    });

    describe('stats', () => {
      it('counts records, rows by status and target, leases, and the oldest pending row', async () => {
        await store().ingest([accepted('1', { receivedAt: at(-60_000) }), accepted('2'), forLago('3'), skipped('4')]);
        await store().recordRejection({ source: 'telecom', id: '5', errors: [], rulesetVersion: 'v', receivedAt: T0 });
        const lago = await claim({ limit: 2, leaseMs: 5000 });
        await store().ack(lago[0], { at: T0 });
        await store().deadLetter(lago[1], { at: T0, reason: 'refused' });
        await claim({ limit: 1, leaseMs: 5000 });
        const stats = await store().stats({ now: at(1000) });
        expect(stats).toEqual({
          records: { accepted: 3, skipped: 1, rejected: 1 },
          deliveries: { pending: 3, delivered: 1, dead: 1, discarded: 0 },
          openDeadLetters: 1,
          targets: {
            lago: { pending: 1, leased: 1, delivered: 1, dead: 1, discarded: 0, oldestPendingAt: T0, oldestPendingAgeMs: 1000 },
            stripe: { pending: 2, leased: 0, delivered: 0, dead: 0, discarded: 0, oldestPendingAt: at(-60_000), oldestPendingAgeMs: 61_000 },
          },
          oldestPendingAt: at(-60_000),
          oldestPendingAgeMs: 61_000,
        });
        expect((await store().stats({ now: at(5000) })).targets.lago.leased).toBe(0);
      });

      it('reports an empty store as all zeros', async () => {
        expect(await store().stats({ now: T0 })).toMatchObject({ deliveries: { pending: 0 }, targets: {}, oldestPendingAt: null, oldestPendingAgeMs: null });
      });
    });
  });
}
