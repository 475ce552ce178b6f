/** The load both store benchmarks put on a store: the same record shape, fed one at a time, by concurrent callers or in batches. */
import type { IngestItem, Store } from '../src/ports/store.js';

let next = 0;

export function record(): IngestItem {
  const id = `rec-${++next}`;
  const payload = {
    specversion: '1.0',
    id,
    source: 'telecom/voice',
    type: 'call.completed',
    time: '2025-03-01T12:00:00Z',
    subject: 'customer-4711',
    data: { seconds: 187, from: '+351210000000', to: '+351910000000', plan: 'business-100', region: 'pt-lis' },
  };
  return {
    source: payload.source,
    id,
    type: payload.type,
    subject: payload.subject,
    payload,
    payloadHash: `sha256-${id}`,
    verdict: 'accepted',
    rulesetVersion: 'sha256-rules',
    receivedAt: new Date(),
    outputs: { lago: { transaction_id: id, external_subscription_id: 'customer-4711', code: 'voice_seconds', properties: { seconds: 187 } } },
  };
}

export type Run = (store: Store, records: number) => Promise<void>;

export const oneAtATime: Run = async (store, records) => {
  for (let i = 0; i < records; i++) await store.ingest([record()]);
};

export const concurrentCallers =
  (callers: number): Run =>
  async (store, records) => {
    let left = records;
    await Promise.all(
      Array.from({ length: callers }, async () => {
        while (left > 0) {
          left -= 1;
          await store.ingest([record()]);
        }
      }),
    );
  };

export const batches =
  (size: number): Run =>
  async (store, records) => {
    for (let done = 0; done < records; done += size) await store.ingest(Array.from({ length: Math.min(size, records - done) }, record));
  };

