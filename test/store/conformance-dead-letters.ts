import { describe, expect, it } from 'vitest';
import { accepted, at, expectCode, forLago, T0, useStore } from './fixtures.js';
import type { StoreFactory } from './fixtures.js';
import type { DeadLetterReport } from '../../src/ports/store.js';

export function deadLetterConformance(factory: StoreFactory): void {
  describe('dead letters', () => {
    const store = useStore(factory);
    const claim = (now = T0, target = 'lago') => store().claim({ target, limit: 100, leaseMs: 1, worker: 'w1', now });

    /** Ingests `id` and dead-letters its lago row at `ms`. */
    async function kill(id: string, ms: number, report: Partial<DeadLetterReport> = {}, source = 'telecom') {
      await store().ingest([forLago(id, { source })]);
      const row = (await claim(at(ms))).find((r) => r.recordId === id && r.source === source)!;
      return store().deadLetter(row, { at: at(ms), reason: 'HTTP 400: unknown customer', code: 'HTTP_400', statusCode: 400, answer: { error: 'unknown customer' }, ...report });
    }

    it('takes the row out of the outbox and records why', async () => {
      const dead = await kill('1', 100);
      expect(dead).toEqual({
        id: expect.any(String),
        outboxId: expect.any(String),
        target: 'lago',
        source: 'telecom',
        recordId: '1',
        reason: 'HTTP 400: unknown customer',
        code: 'HTTP_400',
        statusCode: 400,
        answer: { error: 'unknown customer' },
        at: at(100),
        status: 'dead',
        resolvedAt: null,
        resolvedBy: null,
      });
      expect(await claim(at(3_600_000))).toEqual([]);
      const record = await store().getRecord('telecom', '1');
      expect(record!.targets.lago).toMatchObject({ outboxId: dead.outboxId, status: 'dead', attempts: 1, lastError: 'HTTP 400: unknown customer', nextAttemptAt: null });
      expect(record!.deliveries).toMatchObject([{ outcome: 'dead', statusCode: 400, error: 'HTTP 400: unknown customer' }]);
      expect((await store().listDeadLetters()).items).toEqual([dead]);
    });

    it('lists by target, code, reason and time, newest first, in pages', async () => {
      await kill('1', 1000);
      await kill('2', 2000, { code: 'MAX_ATTEMPTS', reason: 'gave up after 10 attempts' });
      await kill('3', 3000);
      await store().ingest([accepted('4')]);
      const [stripe] = await claim(at(4000), 'stripe');
      await store().deadLetter(stripe, { at: at(4000), reason: 'HTTP 422: bad meter', code: 'HTTP_422' });

      const ids = async (filter: Parameters<ReturnType<typeof store>['listDeadLetters']>[0]) =>
        (await store().listDeadLetters(filter)).items.map((d) => `${d.recordId}/${d.target}`);
      expect(await ids({})).toEqual(['4/stripe', '3/lago', '2/lago', '1/lago']);
      expect(await ids({ target: 'lago' })).toEqual(['3/lago', '2/lago', '1/lago']);
      expect(await ids({ code: 'HTTP_400' })).toEqual(['3/lago', '1/lago']);
      expect(await ids({ reason: 'attempts' })).toEqual(['2/lago']);
      expect(await ids({ from: at(2000), to: at(4000) })).toEqual(['3/lago', '2/lago']);
      expect(await ids({ target: 'lago', code: 'HTTP_400', from: at(2000) })).toEqual(['3/lago']);

      const first = await store().listDeadLetters({ limit: 3 });
      expect(first.items).toHaveLength(3);
      const second = await store().listDeadLetters({ limit: 3, cursor: first.nextCursor! });
      expect(second.items.map((d) => d.recordId)).toEqual(['1']);
      expect(second.nextCursor).toBeNull();
    });

    it('retries a dead letter: the row is pending again and the dead letter stays, marked retried', async () => {
      const dead = await kill('1', 100);
      const retried = await store().retryDeadLetter(dead.id, { at: at(5000), by: 'ana' });
      expect(retried).toEqual({ ...dead, status: 'retried', resolvedAt: at(5000), resolvedBy: 'ana' });
      expect((await store().getRecord('telecom', '1'))!.targets.lago).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: at(5000) });
      expect((await store().listDeadLetters()).items).toEqual([]);
      expect((await store().listDeadLetters({ status: 'retried' })).items).toEqual([retried]);

      expect(await claim(at(4999))).toEqual([]);
      const [row] = await claim(at(5000));
      expect(row).toMatchObject({ recordId: '1', attempts: 0 });
      await store().ack(row, { at: at(5100), statusCode: 200 });
      const record = await store().getRecord('telecom', '1');
      expect(record!.targets.lago.status).toBe('delivered');
      expect(record!.deliveries.map((d) => d.outcome)).toEqual(['dead', 'delivered']);
      await expectCode(store().retryDeadLetter(dead.id, { at: at(6000) }), 'BLH_ERR_STORE_STATE');
    });

    it('keeps one dead letter per death when a retried row dies again', async () => {
      const first = await kill('1', 100);
      await store().retryDeadLetter(first.id, { at: at(200) });
      const [row] = await claim(at(300));
      const second = await store().deadLetter(row, { at: at(300), reason: 'still refused' });
      expect(second.id).not.toBe(first.id);
      expect(second.outboxId).toBe(first.outboxId);
      expect((await store().listDeadLetters()).items.map((d) => d.reason)).toEqual(['still refused']);
      expect((await store().listDeadLetters({ status: 'retried' })).items.map((d) => d.id)).toEqual([first.id]);
    });

    it('discards a dead letter, keeping both it and the row', async () => {
      const dead = await kill('1', 100);
      const discarded = await store().discardDeadLetter(dead.id, { at: at(500), by: 'ana' });
      expect(discarded).toMatchObject({ status: 'discarded', resolvedAt: at(500), resolvedBy: 'ana' });
      expect((await store().listDeadLetters({ status: 'discarded' })).items).toEqual([discarded]);
      expect((await store().getRecord('telecom', '1'))!.targets.lago.status).toBe('discarded');
      expect(await claim(at(3_600_000))).toEqual([]);
      await expectCode(store().retryDeadLetter(dead.id, { at: at(600) }), 'BLH_ERR_STORE_STATE');
      await expectCode(store().discardDeadLetter(dead.id, { at: at(600) }), 'BLH_ERR_STORE_STATE');
      expect((await store().stats({ now: at(600) })).deliveries).toMatchObject({ dead: 0, discarded: 1 });
    });

    it('answers BLH_ERR_STORE_NOT_FOUND for a dead letter it does not have', async () => {
      await expectCode(store().retryDeadLetter('424242', { at: T0 }), 'BLH_ERR_STORE_NOT_FOUND');
      await expectCode(store().discardDeadLetter('nope', { at: T0 }), 'BLH_ERR_STORE_NOT_FOUND');
    });
  });
}
