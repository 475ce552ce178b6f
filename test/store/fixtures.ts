import { afterEach, beforeEach, expect } from 'vitest';
import type { IngestItem, Store } from '../../src/ports/store.js';

export const T0 = new Date('2025-03-01T12:00:00.000Z');

/** T0 plus `ms` milliseconds: every test runs on this fake clock. */
export function at(ms: number): Date {
  return new Date(T0.getTime() + ms);
}

export function accepted(id: string, overrides: Partial<IngestItem> = {}): IngestItem {
  return {
    source: 'telecom',
    id,
    type: 'call.completed',
    subject: 'customer-1',
    payload: { specversion: '1.0', id, source: 'telecom', type: 'call.completed', data: { seconds: 60 } },
    payloadHash: `hash-${id}`,
    verdict: 'accepted',
    rulesetVersion: 'rules-v1',
    receivedAt: T0,
    outputs: { lago: { event: id, units: 1 }, stripe: { meter: id, value: 1 } },
    ...overrides,
  };
}

export function skipped(id: string, overrides: Partial<IngestItem> = {}): IngestItem {
  const { outputs: _outputs, ...item } = accepted(id);
  return { ...item, verdict: 'skipped', code: 'FREE_TIER', message: 'Free calls are not billed', ...overrides };
}

/** Accepted records with one target only, so row counts are easy to read. */
export function forLago(id: string, overrides: Partial<IngestItem> = {}): IngestItem {
  return accepted(id, { outputs: { lago: { event: id } }, ...overrides });
}

export async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code });
}

export async function claimAll(store: Store, target = 'lago', now = T0, worker = 'w1', leaseMs = 30_000) {
  return store.claim({ target, limit: 1000, leaseMs, worker, now });
}

export type StoreFactory = () => Store | Promise<Store>;

/** A fresh store before each test, closed after it; call inside a describe. */
export function useStore(factory: StoreFactory): () => Store {
  let store: Store | undefined;
  beforeEach(async () => {
    store = await factory();
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });
  return () => {
    if (!store) throw new Error('the store is only there inside a test');
    return store;
  };
}
