import { describe, expect, it } from 'vitest';
import type { RetentionStore, Store } from '../../src/ports/store.js';
import { accepted, at, expectCode, forLago, skipped, T0, useStore } from './fixtures.js';
import type { StoreFactory } from './fixtures.js';

const DAY = 86_400_000;
/** The cutoff of every test: records and deliveries before T0 are old enough. */
const CUTOFF = T0;

export function retentionConformance(factory: StoreFactory): void {
  describe('retention', () => {
    const current = useStore(factory);
    const store = () => current() as Store & RetentionStore;

    /** Claims every due row of `target` at `ms` and acks the ones of `ids` at `ms`. */
    async function deliver(ids: string[], ms: number, target = 'lago') {
      for (const row of await store().claim({ target, limit: 1000, leaseMs: 60_000, worker: 'w1', now: at(ms) })) {
        if (ids.includes(row.recordId)) await store().ack(row, { at: at(ms), statusCode: 201, targetId: `t-${row.recordId}` });
        else await store().retryLater(row, { at: at(ms), error: 'later', nextAttemptAt: at(ms), countAttempt: false });
      }
    }

    async function ids(filter: Parameters<RetentionStore['listPrunable']>[0]) {
      return (await store().listPrunable(filter)).items.map((r) => r.id);
    }

    /**
     * old-delivered (3 days ago, delivered 2 days ago), old-skipped, old-pending, old-dead, old-half (one of two
     * targets delivered), late (delivered after the cutoff), revived (dead-lettered, retried, delivered), new.
     */
    async function seed() {
      const s = store();
      await s.ingest([forLago('old-delivered', { receivedAt: at(-3 * DAY) }), skipped('old-skipped', { receivedAt: at(-3 * DAY) })]);
      await s.ingest([forLago('old-pending', { receivedAt: at(-2 * DAY) }), forLago('old-dead', { receivedAt: at(-2 * DAY) })]);
      await s.ingest([accepted('old-half', { receivedAt: at(-2 * DAY) }), forLago('late', { receivedAt: at(-DAY) }), forLago('revived', { receivedAt: at(-DAY) })]);
      await s.ingest([forLago('new', { receivedAt: at(0) })]);
      await deliver(['old-delivered', 'old-half'], -2 * DAY + 1000);
      const dying = (await s.claim({ target: 'lago', limit: 100, leaseMs: 60_000, worker: 'w1', now: at(-DAY + 1000) })).filter((r) => ['old-dead', 'revived', 'late', 'old-pending'].includes(r.recordId));
      for (const row of dying) {
        if (row.recordId === 'old-dead' || row.recordId === 'revived') await s.deadLetter(row, { at: at(-DAY + 1000), reason: 'HTTP 400', code: 'HTTP_400', statusCode: 400 });
        else await s.retryLater(row, { at: at(-DAY + 1000), error: 'later', nextAttemptAt: at(-DAY + 1000), countAttempt: false });
      }
      const revived = (await s.listDeadLetters()).items.find((d) => d.recordId === 'revived')!;
      await s.retryDeadLetter(revived.id, { at: at(-DAY + 2000), by: 'ana' });
      await deliver(['revived'], -DAY + 3000);
      await deliver(['late'], 1000);
    }

    it('lists records received and delivered before the cutoff, oldest first, with everything about them', async () => {
      await seed();
      expect(await ids({ before: CUTOFF })).toEqual(['old-delivered', 'old-skipped', 'revived']);
      const { items } = await store().listPrunable({ before: CUTOFF });
      expect(items[0]).toMatchObject({
        source: 'telecom',
        id: 'old-delivered',
        verdict: 'accepted',
        receivedAt: at(-3 * DAY),
        targets: { lago: { status: 'delivered', receipt: { statusCode: 201, targetId: 't-old-delivered' } } },
        deliveries: [{ target: 'lago', outcome: 'delivered', statusCode: 201 }],
        deadLetters: [],
      });
      expect(items[1]).toMatchObject({ id: 'old-skipped', verdict: 'skipped', targets: {}, deliveries: [], deadLetters: [] });
      expect(items[2].deadLetters).toMatchObject([{ recordId: 'revived', status: 'retried', resolvedBy: 'ana', code: 'HTTP_400' }]);
      expect(items[2].deliveries.map((d) => d.outcome)).toEqual(['dead', 'delivered']);
    });

    it('never lists a record with a pending, dead or later-delivered row, whatever the cutoff', async () => {
      await seed();
      const far = at(365 * DAY);
      expect(await ids({ before: far })).toEqual(['old-delivered', 'old-skipped', 'late', 'revived']);
      // Received before this cutoff but delivered after it: kept. A skipped record has nothing to deliver.
      expect(await ids({ before: at(-2 * DAY) })).toEqual(['old-skipped']);
    });

    it('narrows to received in [from, to) and pages with a cursor', async () => {
      await seed();
      expect(await ids({ before: CUTOFF, from: at(-3 * DAY), to: at(-2 * DAY) })).toEqual(['old-delivered', 'old-skipped']);
      expect(await ids({ before: CUTOFF, from: at(-2 * DAY) })).toEqual(['revived']);
      const first = await store().listPrunable({ before: CUTOFF, limit: 2 });
      expect(first.items.map((r) => r.id)).toEqual(['old-delivered', 'old-skipped']);
      expect(first.nextCursor).toEqual(expect.any(String));
      const second = await store().listPrunable({ before: CUTOFF, limit: 2, cursor: first.nextCursor! });
      expect(second).toMatchObject({ items: [{ id: 'revived' }], nextCursor: null });
    });

    it('prunes what it is told, with rows, attempts and dead letters, and frees the identity', async () => {
      await seed();
      const result = await store().prune({ before: CUTOFF, records: [{ source: 'telecom', id: 'old-delivered' }, { source: 'telecom', id: 'revived' }, { source: 'telecom', id: 'old-skipped' }] });
      expect(result).toEqual({ records: 3, outbox: 2, attempts: 3, deadLetters: 1, rejections: 0, kept: 0 });
      expect(await store().getRecord('telecom', 'old-delivered')).toBeUndefined();
      expect(await ids({ before: CUTOFF })).toEqual([]);
      expect((await store().listDeadLetters({ status: 'retried' })).items).toEqual([]);
      expect((await store().listDeadLetters()).items.map((d) => d.recordId)).toEqual(['old-dead']);
      const stats = await store().stats({ now: T0 });
      expect(stats.records).toEqual({ accepted: 5, skipped: 0, rejected: 0 });
      expect(await store().ingest([forLago('old-delivered')])).toMatchObject([{ status: 'accepted' }]);
    });

    it('keeps a record that is no longer prunable, one that is gone, and one past the cutoff', async () => {
      await seed();
      expect(await store().requeueDelivered({ from: at(-3 * DAY), to: at(-DAY), at: at(10) })).toBeGreaterThan(0);
      const result = await store().prune({
        before: CUTOFF,
        records: [
          { source: 'telecom', id: 'old-delivered' },
          { source: 'telecom', id: 'old-pending' },
          { source: 'telecom', id: 'old-dead' },
          { source: 'telecom', id: 'nothing' },
          { source: 'telecom', id: 'new' },
        ],
      });
      expect(result).toEqual({ records: 0, outbox: 0, attempts: 0, deadLetters: 0, rejections: 0, kept: 5 });
      expect((await store().getRecord('telecom', 'old-delivered'))!.targets.lago.status).toBe('pending');
    });

    it('prunes twice harmlessly', async () => {
      await seed();
      const key = [{ source: 'telecom', id: 'old-delivered' }];
      expect((await store().prune({ before: CUTOFF, records: key })).records).toBe(1);
      expect(await store().prune({ before: CUTOFF, records: key })).toMatchObject({ records: 0, kept: 1 });
    });

    it('lists and prunes old rejections', async () => {
      const reject = (id: string, ms: number) =>
        store().recordRejection({ source: 'telecom', id, errors: [{ code: 'SCHEMA', message: 'bad', path: '/data' }] as never, rulesetVersion: 'v1', receivedAt: at(ms), payload: { id } });
      await reject('a', -2 * DAY);
      await reject('b', -DAY);
      await reject('c', 0);
      const page = await store().listPrunableRejections({ before: CUTOFF });
      expect(page.items.map((r) => r.id)).toEqual(['a', 'b']);
      expect(page.items[0]).toMatchObject({ source: 'telecom', payload: { id: 'a' }, receivedAt: at(-2 * DAY) });
      expect((await store().listPrunableRejections({ before: CUTOFF, from: at(-DAY) })).items.map((r) => r.id)).toEqual(['b']);
      const all = (await store().listRejections()).items;
      const seqOf = (id: string) => all.find((r) => r.id === id)!.seq;
      expect(await store().prune({ before: CUTOFF, rejections: [seqOf('a'), seqOf('c'), 'nope'] })).toMatchObject({ rejections: 1, kept: 2 });
      expect((await store().listRejections()).items.map((r) => r.id)).toEqual(['c', 'b']);
      expect((await store().stats({ now: T0 })).records.rejected).toBe(2);
    });

    it('refuses malformed input with BLH_ERR_STORE_INPUT', async () => {
      await expectCode(store().listPrunable({ before: 'yesterday' as never }), 'BLH_ERR_STORE_INPUT');
      await expectCode(store().listPrunable({ before: CUTOFF, cursor: 'not-a-cursor' }), 'BLH_ERR_STORE_INPUT');
      await expectCode(store().prune({ before: CUTOFF, records: [{ source: 'telecom' } as never] }), 'BLH_ERR_STORE_INPUT');
      await expectCode(store().prune({ records: [] } as never), 'BLH_ERR_STORE_INPUT');
    });
  });
}
