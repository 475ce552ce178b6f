/**
 * One suite for every store adapter: memory, SQLite, and later PostgreSQL. An adapter passes when this
 * passes against a fresh store per test; what only one adapter can show (durability, group commit,
 * schema versions) lives in that adapter's own test file.
 */
import { describe, expect, it } from 'vitest';
import { adminConformance } from './conformance-admin.js';
import { deadLetterConformance } from './conformance-dead-letters.js';
import { outboxConformance } from './conformance-outbox.js';
import { recordConformance } from './conformance-records.js';
import { retentionConformance } from './conformance-retention.js';
import { insightConformance } from './conformance-series.js';
import { expectCode, forLago, useStore } from './fixtures.js';
import type { StoreFactory } from './fixtures.js';

export { useStore } from './fixtures.js';
export type { StoreFactory } from './fixtures.js';

export function runStoreConformance(name: string, factory: StoreFactory): void {
  describe(`${name} store: conformance`, () => {
    recordConformance(factory);
    outboxConformance(factory);
    deadLetterConformance(factory);
    adminConformance(factory);
    retentionConformance(factory);
    insightConformance(factory);

    describe('lifecycle', () => {
      const store = useStore(factory);

      it('is ready while open and not after close', async () => {
        expect(await store().ready()).toBe(true);
        await store().close();
        expect(await store().ready()).toBe(false);
      });

      it('refuses every call after close with BLH_ERR_STORE_CLOSED, and closing twice is fine', async () => {
        await store().close();
        await store().close();
        await expectCode(store().ingest([forLago('1')]), 'BLH_ERR_STORE_CLOSED');
        await expectCode(store().getRecord('telecom', '1'), 'BLH_ERR_STORE_CLOSED');
        await expectCode(store().claim({ target: 'lago', limit: 1, leaseMs: 1, worker: 'w', now: new Date() }), 'BLH_ERR_STORE_CLOSED');
        await expectCode(store().listApiKeys(), 'BLH_ERR_STORE_CLOSED');
      });

      it('commits calls made just before close', async () => {
        const pending = store().ingest([forLago('1')]);
        await store().close();
        expect(await pending).toEqual([{ source: 'telecom', id: '1', status: 'accepted' }]);
      });
    });
  });
}
