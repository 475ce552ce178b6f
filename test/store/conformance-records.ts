import { describe, expect, it } from 'vitest';
import { accepted, at, claimAll, expectCode, forLago, skipped, T0, useStore } from './fixtures.js';
import type { StoreFactory } from './fixtures.js';

export function recordConformance(factory: StoreFactory): void {
  describe('records', () => {
    const store = useStore(factory);

    it('stores a new accepted record with one pending outbox row per target', async () => {
      expect(await store().ingest([accepted('1')])).toEqual([{ source: 'telecom', id: '1', status: 'accepted' }]);
      const record = await store().getRecord('telecom', '1');
      expect(record).toMatchObject({
        source: 'telecom',
        id: '1',
        type: 'call.completed',
        subject: 'customer-1',
        payload: accepted('1').payload,
        payloadHash: 'hash-1',
        verdict: 'accepted',
        code: null,
        message: null,
        rulesetVersion: 'rules-v1',
        receivedAt: T0,
        deliveries: [],
      });
      expect(Object.keys(record!.targets).sort()).toEqual(['lago', 'stripe']);
      expect(record!.targets.lago).toMatchObject({ status: 'pending', body: { event: '1', units: 1 }, attempts: 0, nextAttemptAt: T0, receipt: null });
      expect(record!.targets.stripe).toMatchObject({ status: 'pending', body: { meter: '1', value: 1 } });
    });

    it('answers duplicate for the same identity and payload hash, conflict for another hash, and keeps the first', async () => {
      await store().ingest([accepted('1')]);
      const later = await store().ingest([accepted('1', { receivedAt: at(1000) }), accepted('1', { payloadHash: 'other', outputs: { lago: { changed: true } } })]);
      expect(later).toEqual([
        { source: 'telecom', id: '1', status: 'duplicate', existing: { verdict: 'accepted', payloadHash: 'hash-1', receivedAt: T0 } },
        { source: 'telecom', id: '1', status: 'conflict', existing: { verdict: 'accepted', payloadHash: 'hash-1', receivedAt: T0 } },
      ]);
      const record = await store().getRecord('telecom', '1');
      expect(record!.targets.lago.body).toEqual({ event: '1', units: 1 });
      expect(await claimAll(store())).toHaveLength(1);
    });

    it('recognises duplicates and conflicts within one call', async () => {
      const outcomes = await store().ingest([forLago('1'), forLago('2'), forLago('1'), forLago('1', { payloadHash: 'x' })]);
      expect(outcomes.map((o) => [o.id, o.status])).toEqual([
        ['1', 'accepted'],
        ['2', 'accepted'],
        ['1', 'duplicate'],
        ['1', 'conflict'],
      ]);
      expect(await claimAll(store())).toHaveLength(2);
    });

    it('treats the same id from another source as another record', async () => {
      const outcomes = await store().ingest([forLago('1'), forLago('1', { source: 'energy' })]);
      expect(outcomes.map((o) => o.status)).toEqual(['accepted', 'accepted']);
      expect(await store().getRecord('energy', '1')).toMatchObject({ source: 'energy', id: '1' });
    });

    it('answers a duplicate of a skipped record as a duplicate too', async () => {
      await store().ingest([skipped('1')]);
      expect(await store().ingest([skipped('1')])).toMatchObject([{ status: 'duplicate', existing: { verdict: 'skipped' } }]);
    });

    it('stores skipped records with their reason and no outbox rows', async () => {
      expect(await store().ingest([skipped('1')])).toEqual([{ source: 'telecom', id: '1', status: 'skipped' }]);
      const record = await store().getRecord('telecom', '1');
      expect(record).toMatchObject({ verdict: 'skipped', code: 'FREE_TIER', message: 'Free calls are not billed', targets: {}, deliveries: [] });
      expect(await claimAll(store())).toEqual([]);
      expect((await store().stats({ now: T0 })).deliveries.pending).toBe(0);
    });

    it('gives each concurrent caller its own outcomes, in the order of its items', async () => {
      const calls = await Promise.all([
        store().ingest([forLago('a'), forLago('b')]),
        store().ingest([forLago('c')]),
        store().ingest([forLago('a'), forLago('d')]),
      ]);
      expect(calls.map((outcomes) => outcomes.map((o) => `${o.id}:${o.status}`))).toEqual([['a:accepted', 'b:accepted'], ['c:accepted'], ['a:duplicate', 'd:accepted']]);
    });

    it('answers an empty call with no outcomes', async () => {
      expect(await store().ingest([])).toEqual([]);
    });

    it('refuses malformed input with BLH_ERR_STORE_INPUT and stores nothing of that call', async () => {
      await expectCode(store().ingest([forLago('1'), forLago('2', { receivedAt: new Date('nope') })]), 'BLH_ERR_STORE_INPUT');
      await expectCode(store().ingest([skipped('3', { outputs: { lago: {} } })]), 'BLH_ERR_STORE_INPUT');
      await expectCode(store().ingest([forLago('4', { verdict: 'rejected' as never })]), 'BLH_ERR_STORE_INPUT');
      await expectCode(store().ingest([forLago('5', { payload: { big: 1n } })]), 'BLH_ERR_STORE_INPUT');
      await expectCode(store().ingest([forLago('6', { source: '' })]), 'BLH_ERR_STORE_INPUT');
      expect(await store().getRecord('telecom', '1')).toBeUndefined();
      expect(await store().ingest([forLago('1')])).toMatchObject([{ status: 'accepted' }]);
    });

    it('keeps the payload as JSON, untouched by later changes to the caller’s object', async () => {
      const item = forLago('1', { payload: { when: T0, nested: { n: 1 }, gone: undefined } });
      await store().ingest([item]);
      (item.payload as { nested: { n: number } }).nested.n = 2;
      expect((await store().getRecord('telecom', '1'))!.payload).toEqual({ when: T0.toISOString(), nested: { n: 1 } });
    });

    it('answers undefined for a record it does not have', async () => {
      expect(await store().getRecord('telecom', 'missing')).toBeUndefined();
    });

    describe('rejections', () => {
      const rejection = (id: string, ms = 0) => ({
        source: 'telecom',
        id,
        type: 'call.completed',
        errors: [{ code: 'SCHEMA_INVALID', message: 'data.seconds must be a number', path: '/data/seconds' }],
        rulesetVersion: 'rules-v1',
        receivedAt: at(ms),
        payload: { id, data: { seconds: 'x' } },
      });

      it('logs a rejection without taking the identity, so a corrected record is accepted later', async () => {
        await store().recordRejection(rejection('1'));
        expect(await store().getRecord('telecom', '1')).toBeUndefined();
        expect(await store().ingest([forLago('1')])).toMatchObject([{ status: 'accepted' }]);
        const { items } = await store().listRejections();
        expect(items).toEqual([{ seq: expect.any(String), ...rejection('1') }]);
      });

      it('lists rejections newest first with filters and pages', async () => {
        for (let i = 1; i <= 5; i++) await store().recordRejection(rejection(String(i), i * 1000));
        await store().recordRejection({ ...rejection('1', 9000), source: 'energy' });
        expect((await store().listRejections({ source: 'telecom' })).items.map((r) => r.id)).toEqual(['5', '4', '3', '2', '1']);
        expect((await store().listRejections({ id: '1' })).items.map((r) => r.source)).toEqual(['energy', 'telecom']);
        expect((await store().listRejections({ from: at(2000), to: at(4000) })).items.map((r) => r.id)).toEqual(['3', '2']);
        const first = await store().listRejections({ source: 'telecom', limit: 2 });
        expect(first.items.map((r) => r.id)).toEqual(['5', '4']);
        const second = await store().listRejections({ source: 'telecom', limit: 2, cursor: first.nextCursor! });
        expect(second.items.map((r) => r.id)).toEqual(['3', '2']);
        const third = await store().listRejections({ source: 'telecom', limit: 2, cursor: second.nextCursor! });
        expect(third).toMatchObject({ items: [{ id: '1' }], nextCursor: null });
      });

      it('refuses a cursor it did not give out', async () => {
        await expectCode(store().listRejections({ cursor: 'bogus!' }), 'BLH_ERR_STORE_INPUT');
      });
    });
  });
}
