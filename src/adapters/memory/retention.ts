/** Retention in memory: the same rules as the SQL adapters (see src/ports/retention-store.ts), by scanning. */
import { emptyPruneResult, preparePrunableFilter, preparePrune, toOldestFirstPage } from '../../ports/retention-input.js';
import type { PreparedPrunableFilter } from '../../ports/retention-input.js';
import { toDeadLetter, toRecord, toRejection } from '../../ports/store-rows.js';
import type { OutboxRow, RecordRow } from '../../ports/store-rows.js';
import type { PrunableRecord, RetentionStore } from '../../ports/retention-store.js';
import { recordKey } from './state.js';
import type { MemoryState } from './state.js';

export function memoryRetention(state: MemoryState): RetentionStore {
  const rowsOf = (seq: number): OutboxRow[] => [...state.outbox.values()].filter((o) => o.recordSeq === seq).sort((a, b) => a.id - b.id);
  const settled = (seq: number, before: number) => rowsOf(seq).every((o) => o.status === 'delivered' && o.deliveredAt !== null && o.deliveredAt < before);
  const inWindow = (at: number, seq: number, f: PreparedPrunableFilter) =>
    at >= f.from && at < f.to && (at > f.afterAt || (at === f.afterAt && seq > f.afterSeq));
  const oldestFirst = (a: { receivedAt: number; seq: number }, b: { receivedAt: number; seq: number }) => a.receivedAt - b.receivedAt || a.seq - b.seq;

  function full(row: RecordRow): PrunableRecord {
    const outbox = rowsOf(row.seq);
    const ids = new Set(outbox.map((o) => o.id));
    return {
      ...toRecord(row, outbox, state.attempts.filter((a) => ids.has(a.outboxId))),
      deadLetters: [...state.deadLetters.values()].filter((d) => ids.has(d.outboxId)).sort((a, b) => a.id - b.id).map(toDeadLetter),
    };
  }

  return {
    async listPrunable(filter) {
      state.open();
      const f = preparePrunableFilter(filter);
      const rows = [...state.records.values()]
        .filter((r) => inWindow(r.receivedAt, r.seq, f) && settled(r.seq, f.before))
        .sort(oldestFirst)
        .slice(0, f.limit + 1);
      const page = toOldestFirstPage(rows, f.limit, (r) => ({ at: r.receivedAt, seq: r.seq }));
      return { items: page.items.map(full), nextCursor: page.nextCursor };
    },

    async listPrunableRejections(filter) {
      state.open();
      const f = preparePrunableFilter(filter);
      const rows = state.rejections.filter((r) => inWindow(r.receivedAt, r.seq, f)).sort(oldestFirst).slice(0, f.limit + 1);
      return toOldestFirstPage(rows.map(toRejection), f.limit, (r) => ({ at: r.receivedAt.getTime(), seq: r.seq }));
    },

    async prune(request) {
      state.open();
      const p = preparePrune(request);
      const result = emptyPruneResult();
      result.kept = p.unknown;
      for (const key of p.records) {
        const k = recordKey(key.source, key.id);
        const row = state.records.get(k);
        if (!row || row.receivedAt >= p.before || !settled(row.seq, p.before)) {
          result.kept += 1;
          continue;
        }
        const ids = new Set(rowsOf(row.seq).map((o) => o.id));
        const before = state.attempts.length;
        const keep = state.attempts.filter((a) => !ids.has(a.outboxId));
        state.attempts.splice(0, state.attempts.length, ...keep);
        result.attempts += before - keep.length;
        for (const [id, d] of state.deadLetters) {
          if (ids.has(d.outboxId)) {
            state.deadLetters.delete(id);
            result.deadLetters += 1;
          }
        }
        for (const id of ids) state.outbox.delete(id);
        result.outbox += ids.size;
        state.records.delete(k);
        result.records += 1;
      }
      const doomed = new Set(p.rejections);
      const keep = state.rejections.filter((r) => !(doomed.has(r.seq) && r.receivedAt < p.before));
      result.rejections = state.rejections.length - keep.length;
      result.kept += doomed.size - result.rejections;
      state.rejections.splice(0, state.rejections.length, ...keep);
      return result;
    },
  };
}
