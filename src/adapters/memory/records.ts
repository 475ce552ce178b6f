/** The record side of the memory store: ingest, rejections and a record's whole story. */
import { prepareIngest, prepareRejection, prepareRejectionFilter, text, toDate, toPage } from '../../ports/store-input.js';
import { toRecord, toRejection } from '../../ports/store-rows.js';
import type { OutboxRow } from '../../ports/store-rows.js';
import type { IngestOutcome, RecordStore } from '../../ports/store.js';
import { inRange, newestFirst, recordKey } from './state.js';
import type { MemoryState } from './state.js';

export function memoryRecords(state: MemoryState): RecordStore {
  return {
    async ingest(items) {
      state.open();
      // Everything that can fail is checked here, so the writes below are all-or-nothing without a rollback.
      const prepared = prepareIngest(items);
      return prepared.map(({ outputs, ...item }): IngestOutcome => {
        const key = recordKey(item.source, item.id);
        const existing = state.records.get(key);
        if (existing) {
          return {
            source: item.source,
            id: item.id,
            status: existing.payloadHash === item.payloadHash ? 'duplicate' : 'conflict',
            existing: { verdict: existing.verdict, payloadHash: existing.payloadHash, receivedAt: toDate(existing.receivedAt) },
          };
        }
        const seq = state.nextId();
        state.records.set(key, { ...item, seq });
        for (const output of outputs) {
          const id = state.nextId();
          state.outbox.set(id, newOutboxRow(id, seq, item.source, item.id, output.target, output.body, item.receivedAt));
        }
        return { source: item.source, id: item.id, status: item.verdict };
      });
    },

    async recordRejection(entry) {
      state.open();
      state.rejections.push({ ...prepareRejection(entry), seq: state.nextId() });
    },

    async listRejections(filter) {
      state.open();
      const f = prepareRejectionFilter(filter);
      const rows = newestFirst(state.rejections, (r) => r.seq, f.before, f.limit, (r) =>
        (f.source === null || r.source === f.source) && (f.id === null || r.id === f.id) && inRange(r.receivedAt, f.from, f.to),
      );
      return toPage(rows.map(toRejection), f.limit, (r) => r.seq);
    },

    async getRecord(source, id) {
      state.open();
      const row = state.records.get(recordKey(text(source, 'source'), text(id, 'id')));
      if (!row) return undefined;
      const outbox = [...state.outbox.values()].filter((o) => o.recordSeq === row.seq);
      const ids = new Set(outbox.map((o) => o.id));
      return toRecord(row, outbox, state.attempts.filter((a) => ids.has(a.outboxId)));
    },
  };
}

function newOutboxRow(id: number, recordSeq: number, source: string, recordId: string, target: string, body: string, at: number): OutboxRow {
  return {
    id,
    recordSeq,
    source,
    recordId,
    target,
    body,
    status: 'pending',
    attempts: 0,
    replays: 0,
    createdAt: at,
    nextAttemptAt: at,
    leaseToken: null,
    leaseWorker: null,
    leaseExpiresAt: null,
    lastError: null,
    deliveredAt: null,
    receiptStatus: null,
    receiptTargetId: null,
    firstTryAt: null,
  };
}
